// Minimal downstream consumer of an installed ctgrad package.
#include <ctgrad.hpp>

#include <fmt/format.h>

int main() {
    fmt::print("ctgrad consumer: found installed ctgrad package ({})\n", __cplusplus);
    return 0;
}
