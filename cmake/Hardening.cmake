# Build hardening of the code that ships (issue 15): every src/ target and the zkpush executable.
# The tests are not hardened: they compile at -O0, where _FORTIFY_SOURCE only warns.
#   -fstack-protector-strong   canaries in functions with arrays or addresses taken
#   -fstack-clash-protection   large stack allocations probed page by page
#   -D_FORTIFY_SOURCE=2        checked string/memory calls, where the compiler optimizes (not in the
#                              sanitizer builds, which check more themselves)
#   PIE, full RELRO (-z relro -z now: the GOT read-only once loaded, no lazy binding)
option(ZKPUSH_HARDEN "Build with stack protector, stack-clash protection, _FORTIFY_SOURCE, PIE and full RELRO" ON)
include(CheckPIESupported)
if(ZKPUSH_HARDEN)
  check_pie_supported()  # POSITION_INDEPENDENT_CODE on an executable then links it with -pie
endif()

function(zkpush_harden target)
  if(NOT ZKPUSH_HARDEN)
    return()
  endif()
  get_target_property(type ${target} TYPE)
  # The ASan build's binary is a test tool, not what ships: linked as a plain executable, it starts
  # in half the time (0.19 s instead of 0.35 s: no 100,000s of relocations to apply to its 240 MB),
  # and the CLI tests of `make test` start it hundreds of times. Its libraries stay PIC.
  if(ZKPUSH_SANITIZE AND type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)  # -no-pie (CMP0083)
    return()
  endif()
  # Per target, not project-wide: the test executables share a precompiled header with their
  # support library, which must be compiled with the same -fpie/-fpic setting.
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${target} PRIVATE -fstack-protector-strong -fstack-clash-protection)
  if(NOT ZKPUSH_SANITIZE)
    # Only where the code is optimized; a user's CXXFLAGS that already set a level win.
    target_compile_options(${target} PRIVATE
      $<$<NOT:$<CONFIG:Debug>>:-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2>)
  endif()
  if(type STREQUAL "EXECUTABLE")
    target_link_options(${target} PRIVATE -Wl,-z,relro -Wl,-z,now)
  endif()
endfunction()
