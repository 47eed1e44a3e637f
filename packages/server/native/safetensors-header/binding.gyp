{
  "targets": [
    {
      "target_name": "safetensors_header",
      "sources": ["header_reader.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O2", "-std=c11"] }
    }
  ]
}
