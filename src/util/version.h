#pragma once
#define MAILMOAT_VERSION "0.1.0"
