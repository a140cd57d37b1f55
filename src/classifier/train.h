// Training from files: a directory (recursively: every regular file, .eml or mbox), an mbox file
// (split on "\nFrom " lines, ">From " unescaped), or a single message file.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "classifier/model.h"
#include "util/status.h"

namespace mm::classifier {

// Splits an mbox into its messages (each without its "From " separator line). A file that does not
// start with "From " is one message.
std::vector<std::string> split_mbox(std::string_view data);

// The raw messages under a path (directory walk in name order, mbox split); error if unreadable.
Status read_messages(const std::string& path, std::vector<std::string>& out);

// Parses and learns every message under `path`; `learned` (if given) gets the count.
Status train_from_path(Model& model, const std::string& path, bool is_spam, size_t* learned = nullptr);

}  // namespace mm::classifier
