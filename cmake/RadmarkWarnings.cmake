# radmark_warnings(target): -Wall -Wextra on our own code; the build has none.
function(radmark_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
endfunction()
