# edgedr_embed_file(TARGET SYMBOL FILE): compile FILE into TARGET as
# `extern const std::string_view SYMBOL` in namespace dr::embedded, regenerated when FILE changes.
# The schemas are compiled in so the binary is self-contained and the file stays the single source of truth.
function(edgedr_embed_file target symbol file)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded_${symbol}.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${out} -DSYMBOL=${symbol}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFileScript.cmake
    DEPENDS ${file} ${PROJECT_SOURCE_DIR}/cmake/EmbedFileScript.cmake
    COMMENT "Embedding ${file}")
  target_sources(${target} PRIVATE ${out})
endfunction()
