// Placeholder example (to be replaced).
#include <ctgrad.hpp>

#include <fmt/format.h>

int main() {
    fmt::print("ctgrad hello\n");
    return 0;
}
