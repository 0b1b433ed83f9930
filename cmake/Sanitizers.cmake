# ZKPUSH_SANITIZE applies ASan + UBSan to everything built after this point, tests included.
if(ZKPUSH_SANITIZE)
  # -fno-sanitize=function: clang 14 cannot emit its prologue data for C++20 coroutines ("Cannot
  # represent a difference across sections"); the check only catches calls through mistyped
  # function pointers, which C++ code here does not make.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=function -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# The fuzz targets need the library itself instrumented for coverage, not only the target file.
if(ZKPUSH_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# ZKPUSH_TSAN: ThreadSanitizer for the concurrency tests (Makefile: test-tsan). Not combinable with
# ZKPUSH_SANITIZE (ASan and TSan exclude each other).
if(ZKPUSH_TSAN)
  if(ZKPUSH_SANITIZE)
    message(FATAL_ERROR "ZKPUSH_TSAN and ZKPUSH_SANITIZE cannot be combined")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
