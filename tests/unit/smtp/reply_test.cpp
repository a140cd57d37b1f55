#include "smtp/reply.h"

#include <gtest/gtest.h>

using mm::smtp::format_reply;
using mm::smtp::Reply;

TEST(Reply, SingleLine) {
  EXPECT_EQ(format_reply(Reply{250, "2.1.0", "Ok", false}), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(format_reply(Reply{220, "", "mx ESMTP", false}), "220 mx ESMTP\r\n");
}

TEST(Reply, MultiLineRepeatsEnhancedCode) {
  EXPECT_EQ(format_reply(Reply{550, "5.7.1", "first\nsecond\nthird", false}),
            "550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n");
  EXPECT_EQ(format_reply(Reply{250, "", "mx\nPIPELINING", false}), "250-mx\r\n250 PIPELINING\r\n");
}

TEST(Reply, EmptyTextAndTrailingNewline) {
  EXPECT_EQ(format_reply(Reply{250, "", "", false}), "250\r\n");
  EXPECT_EQ(format_reply(Reply{250, "2.0.0", "", false}), "250 2.0.0\r\n");
  EXPECT_EQ(format_reply(Reply{250, "2.0.0", "Ok\n", false}), "250 2.0.0 Ok\r\n");
}

TEST(Reply, ControlCharactersCannotInjectLines) {
  EXPECT_EQ(format_reply(Reply{250, "2.0.0", "a\rb\x01", false}), "250 2.0.0 a b \r\n");
}
