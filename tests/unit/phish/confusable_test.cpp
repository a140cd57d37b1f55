// Lookalike names: ICU confusable skeletons, mixed scripts, edit distance and the lookalike kinds.
#include <gtest/gtest.h>

#include "phish/confusable.h"

namespace mm::phish {
namespace {

TEST(Confusable, SkeletonsOfHomoglyphs) {
  EXPECT_TRUE(confusable("p\xD0\xB0ypal", "paypal"));  // Cyrillic а
  EXPECT_TRUE(confusable("paypa1", "paypal"));          // digit one for l
  EXPECT_TRUE(confusable("rnicrosoft", "microsoft"));   // r n for m
  EXPECT_TRUE(confusable("g\xCE\xBF\xCE\xBFgle", "google"));  // Greek omicrons
  EXPECT_FALSE(confusable("paypal", "paypal"));         // the same string is not a lookalike
  EXPECT_FALSE(confusable("paypal", "ebay"));
  EXPECT_EQ(skeleton("p\xD0\xB0ypal"), skeleton("paypal"));
}

TEST(Confusable, MixedScripts) {
  EXPECT_TRUE(mixed_script("p\xD0\xB0ypal"));   // Latin + Cyrillic in one label
  EXPECT_FALSE(mixed_script("paypal"));
  EXPECT_FALSE(mixed_script("\xD1\x8F\xD0\xBD\xD0\xB4\xD0\xB5\xD0\xBA\xD1\x81"));  // "яндекс": Cyrillic only
  EXPECT_FALSE(mixed_script("b\xC3\xBC" "cher"));  // Latin with a diacritic
}

TEST(Confusable, EditDistance) {
  EXPECT_EQ(edit_distance("paypal", "paypal"), 0u);
  EXPECT_EQ(edit_distance("paypall", "paypal"), 1u);
  EXPECT_EQ(edit_distance("pyapal", "paypal"), 1u);  // transposition
  EXPECT_EQ(edit_distance("micros0ft", "microsoft"), 1u);
  EXPECT_EQ(edit_distance("abc", "xyzxyzxyz", 3), 4u);  // capped
}

TEST(Confusable, LookalikeKinds) {
  EXPECT_EQ(lookalike("paypa1.com", "paypal.com"), LookalikeKind::Homoglyph);
  EXPECT_EQ(lookalike("xn--pypal-4ve.com", "paypal.com"), LookalikeKind::Homoglyph);
  EXPECT_EQ(lookalike("rnicrosoft.com", "microsoft.com"), LookalikeKind::Homoglyph);
  EXPECT_EQ(lookalike("paypall.net", "paypal.com"), LookalikeKind::Typo);
  EXPECT_EQ(lookalike("amazonn.co.uk", "amazon.com"), LookalikeKind::Typo);
  EXPECT_EQ(lookalike("paypal-secure.com", "paypal.com"), LookalikeKind::Combo);
  EXPECT_EQ(lookalike("acme-corp.example", "acmecorp.example"), LookalikeKind::Typo);
  // Not lookalikes: the same domain, the same name under another suffix, unrelated names, short names.
  EXPECT_EQ(lookalike("paypal.com", "paypal.com"), LookalikeKind::None);
  EXPECT_EQ(lookalike("paypal.de", "paypal.com"), LookalikeKind::None);
  EXPECT_EQ(lookalike("example.org", "paypal.com"), LookalikeKind::None);
  EXPECT_EQ(lookalike("upx.com", "ups.com"), LookalikeKind::None);
  EXPECT_EQ(lookalike("apples.com", "apple.com"), LookalikeKind::Typo);
  EXPECT_EQ(lookalike("snapple.com", "apple.com"), LookalikeKind::None);
}

}  // namespace
}  // namespace mm::phish
