// Placeholder smoke test (to be replaced).
#include <ctgrad.hpp>

#include <catch2/catch.hpp>

TEST_CASE("smoke: test harness works", "[smoke]") {
    REQUIRE(1 + 1 == 2);
}
