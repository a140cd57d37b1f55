// The "links" check: every URL of the message (links::extract) against the block lists (the
// operator's file and store list, the tenant's store list), URI DNS block lists (through a
// UriDnsResolver), the project's list of URL shorteners, and the tricks a URL used to hide where
// it goes (userinfo, numeric IP hosts, percent-encoded hosts, backslashes, fullwidth dots).
// Every symbol's detail names the URL that fired.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "links/lists.h"
#include "links/url.h"
#include "links/uribl.h"
#include "scan/check.h"

namespace mm::links {

// The message's URLs (extract() with the default options), made once per scan and shared by the
// checks that read them (links, phishing) through the scan's Memo; computed directly without one.
std::shared_ptr<const std::vector<Url>> urls_of(const scan::Context&);

struct LinksOptions {
  std::shared_ptr<const DomainSet> shorteners;    // project data file (rules/links/shorteners.txt)
  std::shared_ptr<const FileDomainSet> operator_file;  // [links] blocklist_file, or null
  std::shared_ptr<const UriDnsResolver> resolver;  // null: URI DNS block lists off
  std::vector<UriblZone> zones;
  size_t max_dns_queries = 20;
  std::chrono::milliseconds dns_timeout{2000};
};

class LinksCheck : public scan::Check {
 public:
  explicit LinksCheck(LinksOptions opt);
  std::string name() const override { return "links"; }
  double max_abs_score() const override;
  void run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const override;
  // Waits for DNS answers only when URI DNS block lists are on; the list and shortener lookups
  // are in memory.
  bool waits() const override { return opt_.resolver && !opt_.zones.empty(); }

 private:
  LinksOptions opt_;
};

// "href https://x.test/a" (the source and the URL as found, shortened for a symbol detail).
struct Url;
std::string describe(const Url&, size_t max = 100);

}  // namespace mm::links
