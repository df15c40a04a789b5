# ctgrad::blas: ctgrad with a CBLAS for its contractions (see the top-level CMakeLists.txt).
# Included by the top-level CMakeLists.txt and, for an installed ctgrad, by ctgradConfig.cmake
# (which defines ctgrad::blas when find_package(ctgrad) finds a BLAS on the consumer's side).
#
# Sets CTGRAD_HAS_BLAS. The target is ctgrad_blas (exported as ctgrad::blas) in a build tree, or
# the imported ctgrad::blas in an installed one (CTGRAD_BLAS_IMPORTED).
include("${CMAKE_CURRENT_LIST_DIR}/ctgrad_extension_target.cmake")
if(NOT DEFINED BLA_VENDOR)
  set(BLA_VENDOR OpenBLAS)
  find_package(BLAS QUIET)
  if(NOT BLAS_FOUND)
    unset(BLA_VENDOR)
    find_package(BLAS QUIET)
  endif()
else()
  find_package(BLAS QUIET)
endif()
find_path(CTGRAD_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas openblas-pthread)

set(CTGRAD_HAS_BLAS OFF)
if(BLAS_FOUND AND CTGRAD_CBLAS_INCLUDE_DIR)
  set(CTGRAD_HAS_BLAS ON)
  ctgrad_extension_target(blas "${CTGRAD_BLAS_IMPORTED}")
  target_link_libraries(${_ctgrad_blas_target} INTERFACE BLAS::BLAS)
  # SYSTEM: OpenBLAS's header uses C99 _Complex, which -Wpedantic reports in C++
  target_include_directories(${_ctgrad_blas_target} SYSTEM INTERFACE "${CTGRAD_CBLAS_INCLUDE_DIR}")
  target_compile_definitions(${_ctgrad_blas_target} INTERFACE CTGRAD_USE_CBLAS)
  if(NOT CTGRAD_BLAS_IMPORTED)
    message(STATUS "ctgrad: contractions through BLAS (${BLAS_LIBRARIES}; cblas.h in ${CTGRAD_CBLAS_INCLUDE_DIR})")
  endif()
elseif(NOT CTGRAD_BLAS_IMPORTED)
  message(STATUS "ctgrad: no CBLAS found (Debian: libopenblas-dev): ctgrad::blas is not defined, contractions use ctgrad's loop")
endif()
