#pragma once
// Helpers for asserting on absl::Status messages without gmock (the suites link gtest only).
#include <string>

#include <gtest/gtest.h>

#include "absl/status/status.h"

namespace alisa::model::test {

inline ::testing::AssertionResult message_contains(const absl::Status& status, const std::string& needle) {
  if (status.ok()) return ::testing::AssertionFailure() << "status is OK, expected an error containing: " << needle;
  const std::string message(status.message());
  if (message.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message \"" << message << "\" does not contain \"" << needle << "\"";
}

inline ::testing::AssertionResult text_contains(const std::string& text, const std::string& needle) {
  if (text.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << needle << "\"";
}

}  // namespace alisa::model::test
