# ctgrad_extension_target(<name> <imported>): the target ctgrad::<name> = ctgrad plus a library
# found by cmake/ctgrad_<name>.cmake (blas, html). In a build tree (imported false) it is the
# interface library ctgrad_<name> with the alias ctgrad::<name>, over ctgrad; for an installed
# ctgrad (imported true, from ctgradConfig.cmake) the imported ctgrad::<name>, over
# ctgrad::ctgrad. Sets _ctgrad_<name>_target, the name to add its usage requirements to, in the
# caller's scope.
function(ctgrad_extension_target name imported)
  if(imported)
    add_library(ctgrad::${name} INTERFACE IMPORTED)
    set(target ctgrad::${name})
    target_link_libraries(${target} INTERFACE ctgrad::ctgrad)
  else()
    add_library(ctgrad_${name} INTERFACE)
    add_library(ctgrad::${name} ALIAS ctgrad_${name})
    set(target ctgrad_${name})
    target_link_libraries(${target} INTERFACE ctgrad)
  endif()
  set(_ctgrad_${name}_target ${target} PARENT_SCOPE)
endfunction()
