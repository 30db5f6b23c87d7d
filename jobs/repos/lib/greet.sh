greet() {
  printf 'hello, %s (lib build %s)\n' "$1" "$LIB_BUILD"
}
