# The public API's symbol prefixes: the only global symbols the installed
# libraries define. The one list: the shared library's version script, the
# static library's partial link and the test that checks both
# (tests/boundaries) are made from it. A new public module adds its prefix
# here.
set(CHAINSTORE_PUBLIC_PREFIXES chainstore unichain bitprotocol bitswarm networker utp)

set(CHAINSTORE_VERSION_SCRIPT ${PROJECT_BINARY_DIR}/libchainstore.map)
set(_globals "")
foreach(p IN LISTS CHAINSTORE_PUBLIC_PREFIXES)
  string(APPEND _globals "    ${p}_*;\n")
endforeach()
file(CONFIGURE OUTPUT ${CHAINSTORE_VERSION_SCRIPT} CONTENT
"/* Made by cmake/ChainstoreSymbols.cmake: only the public prefixes are exported. */
{
  global:
@_globals@  local:
    *;
};
" @ONLY)

# chainstore_public_object(OUT OBJECTS): links OBJECTS into one relocatable
# object OUT (ld -r), in which every global symbol but the public ones is
# made local: what libchainstore.a holds, so that a program linking it
# sees neither the internal functions nor their names.
function(chainstore_public_object out objects)
  set(keep "")
  foreach(p IN LISTS CHAINSTORE_PUBLIC_PREFIXES)
    list(APPEND keep "--keep-global-symbol=${p}_*")
  endforeach()
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_LINKER} -r -o ${out}.all ${objects}
    COMMAND ${CMAKE_OBJCOPY} --wildcard ${keep} ${out}.all ${out}
    COMMAND ${CMAKE_COMMAND} -E rm -f ${out}.all
    DEPENDS ${objects}
    COMMENT "Partial link of the public static library object"
    COMMAND_EXPAND_LISTS VERBATIM)
endfunction()
