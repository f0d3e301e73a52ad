# Sourced by ./mvnw and ./simple-vmm: makes JAVA_HOME point at a JDK 25 or newer, or stops with what to do.
# Order: $JAVA_HOME if it is new enough, the `java` on PATH if it is, then the JDKs under /usr/lib/jvm
# (where Debian and Temurin's packages install them), newest first.

vmm4j_jdk_feature() { # prints the feature version (17, 25, ...) of the JDK at $1, or nothing
  local release="$1/release" version
  [ -x "$1/bin/javac" ] && [ -f "$release" ] || return 0
  version=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")
  echo "$version"
}

vmm4j_find_jdk() {
  local candidate feature best="" best_feature=0
  if [ -n "${JAVA_HOME:-}" ]; then
    feature=$(vmm4j_jdk_feature "$JAVA_HOME")
    [ "${feature:-0}" -ge 25 ] && return 0
  fi
  if command -v javac >/dev/null 2>&1; then
    candidate=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    feature=$(vmm4j_jdk_feature "$candidate")
    if [ "${feature:-0}" -ge 25 ]; then export JAVA_HOME="$candidate"; return 0; fi
  fi
  for candidate in $(find /usr/lib/jvm -mindepth 1 -maxdepth 1 2>/dev/null); do # no glob: mvnw runs under set -f
    feature=$(vmm4j_jdk_feature "$candidate")
    if [ "${feature:-0}" -gt "$best_feature" ]; then best="$candidate"; best_feature="$feature"; fi
  done
  if [ "$best_feature" -ge 25 ]; then export JAVA_HOME="$best"; return 0; fi
  echo "vmm4j needs a JDK 25 or newer, and found none (JAVA_HOME=${JAVA_HOME:-unset}, javac on PATH: $(command -v javac || echo none), newest under /usr/lib/jvm: ${best:-none})." >&2
  echo "Install one (for example Temurin 25: apt-get install temurin-25-jdk) or set JAVA_HOME to its directory." >&2
  return 1
}

vmm4j_find_jdk || exit 1
