# Every target of ours builds warning-free under g++ 12 and clang 14.
function(zkpush_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  # g++ 12 reports copies out of a std::variant alternative (StoreResult's error) as "maybe
  # uninitialized" after inlining through std::function (GCC bug 105562 and relatives); clang, the
  # sanitizer build, checks the same code without this false positive.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
