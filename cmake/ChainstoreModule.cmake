# Module boundaries the build checks.
#
#   chainstore_module(NAME <name> SOURCES <file>... [DEPENDS <module>...] [PROBE])
#
# Called from src/<name>/CMakeLists.txt, declares that directory as module
# <name>: an OBJECT library `chainstore_mod_<name>` whose sources see
#   - the public headers (include/),
#   - their own module's headers, as "<name>/...",
#   - the headers of the modules in DEPENDS, as "<module>/...",
#   - the generated headers of those modules (a module writes them to
#     ${CHAINSTORE_GEN_DIR}/<name>/<name>/, included as "<name>/..."),
# and nothing else of src/: an include of a module it does not declare does
# not compile. DEPENDS is not transitive: a module names every module whose
# headers it includes. All modules may use libsodium, libuv, protobuf-c and
# threads. The objects of every module go into libchainstore (.so and .a)
# and chainstore_internal (tests). PROBE: a module made only to check the
# boundaries (tests/boundaries/): not in the libraries, not built by `all`.
#
# Each module gets a directory ${CHAINSTORE_MODULE_DIR}/<name>/ holding one
# link, <name> -> its source directory; that directory is what its own
# sources and its dependents have on their include path.

set(CHAINSTORE_MODULE_DIR ${PROJECT_BINARY_DIR}/modules)
set(CHAINSTORE_GEN_DIR ${PROJECT_BINARY_DIR}/gen)

# What every module may use: the public headers and the external libraries.
add_library(chainstore_module_base INTERFACE)
target_include_directories(chainstore_module_base INTERFACE ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(chainstore_module_base INTERFACE
  PkgConfig::SODIUM PkgConfig::UV PkgConfig::PROTOBUFC Threads::Threads)

function(chainstore_module)
  cmake_parse_arguments(M "PROBE" "NAME" "SOURCES;DEPENDS" ${ARGN})
  if(NOT M_NAME OR NOT M_SOURCES OR M_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "chainstore_module(NAME <name> SOURCES <file>... [DEPENDS <module>...] [PROBE])")
  endif()
  set(target chainstore_mod_${M_NAME})
  set(view ${CHAINSTORE_MODULE_DIR}/${M_NAME})
  file(MAKE_DIRECTORY ${view} ${CHAINSTORE_GEN_DIR}/${M_NAME})
  set(link_to "")
  if(IS_SYMLINK ${view}/${M_NAME})
    file(READ_SYMLINK ${view}/${M_NAME} link_to)
  endif()
  if(NOT link_to STREQUAL CMAKE_CURRENT_SOURCE_DIR)
    file(REMOVE ${view}/${M_NAME})
    file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${view}/${M_NAME} SYMBOLIC)
  endif()

  add_library(${target} OBJECT ${M_SOURCES})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  # PUBLIC: the module itself and whoever declares it; the dependencies are
  # linked PRIVATE so that their headers do not pass on to its dependents.
  target_include_directories(${target} PUBLIC ${view} ${CHAINSTORE_GEN_DIR}/${M_NAME})
  target_link_libraries(${target} PUBLIC chainstore_module_base)
  foreach(dep IN LISTS M_DEPENDS)
    target_link_libraries(${target} PRIVATE chainstore_mod_${dep})
  endforeach()
  if(M_PROBE)
    set_target_properties(${target} PROPERTIES EXCLUDE_FROM_ALL ON)
  else()
    set_property(GLOBAL APPEND PROPERTY CHAINSTORE_MODULES ${M_NAME})
  endif()
endfunction()
