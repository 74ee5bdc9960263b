{
  "targets": [
    {
      "target_name": "dbproxy_io",
      "sources": ["src/api.c", "src/loop.c", "src/listen.c"],
      "cflags": ["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-O2"],
      "conditions": [
        ["OS=='mac'", { "xcode_settings": { "OTHER_CFLAGS": ["-Wall", "-Wextra", "-Werror"] } }]
      ]
    }
  ]
}
