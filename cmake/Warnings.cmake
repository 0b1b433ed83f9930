# Every target of ours builds warning-free under g++ 12 and clang 14.
function(zkpush_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  # g++ 12 reports copies out of a std::variant alternative (StoreResult's error) as "maybe
  # uninitialized" after inlining through std::function (GCC bug 105562 and relatives); clang, the
  # sanitizer build, checks the same code without this false positive.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    # Under the unity build (ZKPUSH_UNITY) each .cpp is #included by a generated batch file, and g++
    # takes a class defined there for a header's: "has a field whose type uses the anonymous
    # namespace" for every class of a .cpp that holds a helper type of the same .cpp. Compiled file
    # by file, the same code is correct and silent.
    target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
  endif()
endfunction()
