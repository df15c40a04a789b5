// Placeholder compile-fail test (to be replaced): must NOT compile.
#include <ctgrad.hpp>

template <class T>
inline constexpr bool false_v = false;

template <class T>
void trigger() {
    static_assert(false_v<T>, "ctgrad smoke failure sentence");
}

int main() {
    trigger<int>();
}
