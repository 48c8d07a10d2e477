#!/bin/sh
# Refresh the vendored SIP.js (the admin page's softphone for the test call)
# from npm: its ES modules (lib/**/*.js, no dependencies) and its licence,
# into stasis_app/admin/web/static/vendor/sip.js/. Pinned: change VERSION
# here and in stasis_app/admin/web/test_call.py (SIPJS_VERSION), run this,
# commit the result. Usage: sh devtools/refresh_sipjs.sh
set -eu
VERSION=0.21.2
repo=$(cd "$(dirname "$0")/.." && pwd)
target="$repo/stasis_app/admin/web/static/vendor/sip.js"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "sip.js@$VERSION" >/dev/null && tar xzf "sip.js-$VERSION.tgz")
grep -q "\"version\": \"$VERSION\"" "$work/package/package.json"
rm -rf "$target"
mkdir -p "$target"
cp "$work/package/LICENSE.md" "$target/LICENSE.md"
# The package's own version (its lib/version.js may lag: 0.21.2 says 0.21.1).
echo "$VERSION" > "$target/VERSION"
(cd "$work/package" && find lib -name '*.js' | while read -r file; do
  mkdir -p "$target/$(dirname "$file")"
  cp "$file" "$target/$file"
done)
echo "SIP.js $VERSION vendored into $target ($(find "$target" -name '*.js' | wc -l) modules)"
