# Every target of ours builds warning-free under g++ 12 and clang 14.
function(zkpush_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()
