// Catch2 main(), compiled once into the ctgrad_catch_main library.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
