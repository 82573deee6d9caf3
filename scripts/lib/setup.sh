# Shared by scripts/studio and scripts/test: install what is missing, then configure and build.
# Sourced, not run. Incremental: a second run installs nothing and rebuilds only what changed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="$ROOT/build"

say() { printf '%s\n' "$*" >&2; }

missing_packages() {
    local pkg
    grep -v '^\s*#' "$ROOT/scripts/packages.txt" | grep -v '^\s*$' | while read -r pkg; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            printf '%s\n' "$pkg"
        fi
    done
}

install_missing_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "error: this script installs Debian packages with apt-get, and dpkg-query is not here."
        say "Install the packages listed in scripts/packages.txt by hand, then run it again."
        exit 3
    fi
    local missing
    missing="$(missing_packages | tr '\n' ' ')"
    [ -z "${missing// /}" ] && return 0
    say "Installing missing Debian packages: $missing"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            say "error: these packages are missing and installing them needs root: $missing"
            say "Run as root, or install them first: sudo apt-get install --no-install-recommends $missing"
            exit 3
        fi
    fi
    if ! $sudo apt-get update -q >&2; then
        say "error: apt-get update failed; check the network and the package sources."
        exit 3
    fi
    # shellcheck disable=SC2086
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing >&2; then
        say "error: apt-get could not install: $missing"
        exit 3
    fi
}

configure_and_build() {
    if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        say "Configuring the build in build/"
        cmake --preset default -S "$ROOT" >&2 || { say "error: cmake could not configure the build"; exit 4; }
    fi
    say "Building"
    cmake --build "$BUILD_DIR" -j "$(nproc)" >&2 || { say "error: the build failed"; exit 4; }
}
