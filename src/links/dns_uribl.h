// The URI DNS block lists' resolver over mailmoat's asynchronous DNS resolver (src/dns): every
// name of a message is asked at once, and the scan worker waits for the answers until the
// deadline. An unanswered or failed question is "unknown" (error), never "listed".
#pragma once
#include <memory>

#include "links/uribl.h"

namespace mm::dns {
class Resolver;
}

namespace mm::links {

std::shared_ptr<const UriDnsResolver> make_dns_uri_resolver(std::shared_ptr<dns::Resolver> resolver);

}  // namespace mm::links
