// Migration 4: link block lists (operator's and per tenant) and protected names.
#include <gtest/gtest.h>

#include "store/store.h"
#include "store/validate.h"
#include "temp_dir.h"

namespace mm::store {
namespace {

class LinkListsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = open_sqlite(tmp.file("mailmoat.db"));
    ASSERT_TRUE(r) << r.error();
    store = std::move(*r);
    ASSERT_TRUE(store->create_tenant("acme", "Acme Widgets"));
    ASSERT_TRUE(store->create_tenant("other", ""));
  }
  test_util::TempDir tmp;
  std::unique_ptr<Store> store;
};

TEST_F(LinkListsTest, UrlBlocksPerTenantAndOperator) {
  int64_t g0 = store->config_generation();
  ASSERT_TRUE(store->add_url_block("", "Evil.Test."));
  ASSERT_TRUE(store->add_url_block("acme", "phish.example"));
  ASSERT_TRUE(store->add_url_block("acme", "203.0.113.9"));
  EXPECT_GT(store->config_generation(), g0);  // running servers reload
  EXPECT_EQ(*store->list_url_blocks(""), std::vector<std::string>{"evil.test"});
  EXPECT_EQ(*store->list_url_blocks("acme"), (std::vector<std::string>{"203.0.113.9", "phish.example"}));
  EXPECT_TRUE(store->list_url_blocks("other")->empty());
  // The same entry may be on several lists, but not twice on one.
  EXPECT_TRUE(store->add_url_block("other", "evil.test"));
  auto dup = store->add_url_block("", "evil.test");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.message().find("already on the operator's link block list"), std::string::npos) << dup.message();
  EXPECT_FALSE(store->add_url_block("acme", "phish.example"));
  // Bad input changes nothing.
  EXPECT_FALSE(store->add_url_block("acme", "not a domain"));
  EXPECT_FALSE(store->add_url_block("acme", "b\xC3\xBC" "cher.example"));  // IDN must come as punycode
  EXPECT_FALSE(store->add_url_block("nobody", "x.example"));
  EXPECT_FALSE(store->list_url_blocks("nobody"));
  ASSERT_TRUE(store->remove_url_block("acme", "PHISH.example"));
  EXPECT_EQ(*store->list_url_blocks("acme"), std::vector<std::string>{"203.0.113.9"});
  EXPECT_FALSE(store->remove_url_block("acme", "phish.example"));
  ASSERT_TRUE(store->remove_url_block("", "evil.test"));
  EXPECT_EQ(*store->list_url_blocks("other"), std::vector<std::string>{"evil.test"});  // other lists untouched
}

TEST_F(LinkListsTest, ProtectedNames) {
  ASSERT_TRUE(store->add_protected_name("acme", "  Jane   Doe "));
  ASSERT_TRUE(store->add_protected_name("acme", "Jos\xC3\xA9 Garc\xC3\xAD" "a"));
  EXPECT_EQ(*store->list_protected_names("acme"),
            (std::vector<std::string>{"Jane Doe", "Jos\xC3\xA9 Garc\xC3\xAD" "a"}));
  EXPECT_TRUE(store->list_protected_names("other")->empty());
  EXPECT_FALSE(store->add_protected_name("acme", "Jane Doe"));
  EXPECT_FALSE(store->add_protected_name("acme", "J"));
  EXPECT_FALSE(store->add_protected_name("acme", "bad\x01name"));
  EXPECT_FALSE(store->add_protected_name("acme", "bad \xC3 utf8"));
  EXPECT_FALSE(store->add_protected_name("nobody", "Jane Doe"));
  ASSERT_TRUE(store->remove_protected_name("acme", "Jane Doe"));
  EXPECT_FALSE(store->remove_protected_name("acme", "Jane Doe"));
  EXPECT_EQ(store->list_protected_names("acme")->size(), 1u);
}

TEST_F(LinkListsTest, DeletingATenantDropsItsLists) {
  ASSERT_TRUE(store->add_url_block("other", "x.example"));
  ASSERT_TRUE(store->add_protected_name("other", "Sam Smith"));
  ASSERT_TRUE(store->add_url_block("", "y.example"));
  ASSERT_TRUE(store->delete_tenant("other"));
  ASSERT_TRUE(store->create_tenant("other", ""));
  EXPECT_TRUE(store->list_url_blocks("other")->empty());
  EXPECT_TRUE(store->list_protected_names("other")->empty());
  EXPECT_EQ(*store->list_url_blocks(""), std::vector<std::string>{"y.example"});
}

TEST(LinkListsValidate, Entries) {
  EXPECT_EQ(*normalize_url_entry("WWW.Example.COM."), "www.example.com");
  EXPECT_EQ(*normalize_url_entry("192.0.2.1"), "192.0.2.1");
  EXPECT_FALSE(normalize_url_entry("localhost"));
  EXPECT_FALSE(normalize_url_entry("http://x.example/"));
  EXPECT_EQ(*clean_person_name(" Jane\tDoe "), "Jane Doe");
}

}  // namespace
}  // namespace mm::store
