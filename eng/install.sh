#!/usr/bin/env bash
# Installs what the sandbox needs, installs `dotnet sandbox` from this checkout as a global tool,
# and proves it: `dotnet sandbox doctor`, then `dotnet sandbox test` on a bundled sample. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
root=$(repo_root)
cd "$root"

# bubblewrap for the sandbox; a C toolchain links the native (AOT) build of the tool.
ensure_tools bwrap:bubblewrap git:git
command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || ensure_tools clang:clang

rid=$(host_rid)
# A fresh version on every install, so that NuGet's package cache never hands back an older build.
version="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' eng/Versions.props)-dev.$(date -u +%Y%m%d%H%M%S)"
suffix=${version#*-}
out="$root/artifacts/package"
rm -rf "$out"

echo "==> packing SandboxedBuild.Cli $version ($rid, native AOT)"
dotnet pack src/SandboxedBuild.Cli -c Release -o "$out" -p:VersionSuffix="$suffix" -nologo -v:q
dotnet pack src/SandboxedBuild.Cli -c Release -r "$rid" -o "$out" -p:VersionSuffix="$suffix" -nologo -v:q

echo "==> installing the global tool"
if dotnet tool list -g | grep -qi '^sandboxedbuild\.cli '; then
  dotnet tool uninstall -g SandboxedBuild.Cli >/dev/null
fi
# Only the freshly packed packages: the repository's NuGet.config maps every package to nuget.org.
cat > "$out/NuGet.config" <<XML
<configuration><packageSources><clear /><add key="local" value="$out" /></packageSources></configuration>
XML
dotnet tool install -g SandboxedBuild.Cli --configfile "$out/NuGet.config" --version "$version"

tools="$HOME/.dotnet/tools"
case ":$PATH:" in
  *":$tools:"*) on_path=1 ;;
  *) on_path=0; export PATH="$tools:$PATH" ;;
esac

echo "==> proving it: dotnet sandbox doctor"
dotnet sandbox doctor

echo "==> proving it: dotnet sandbox test on testassets/xunit-vstest (restore, build and test, each step sandboxed)"
sample=$(mktemp -d "${TMPDIR:-/tmp}/sandbox-sample.XXXXXX")
trap 'rm -rf "$sample"' EXIT
cp -r testassets/xunit-vstest/. "$sample/"
cp testassets/Directory.Build.props testassets/Directory.Build.targets testassets/Directory.Packages.props "$sample/"
git -C "$sample" init -q .
(cd "$sample" && dotnet sandbox test)

echo
echo "Installed: dotnet sandbox $version"
if [ "$on_path" -eq 0 ]; then
  echo "Note: $tools is not on your PATH. Add it so that 'dotnet sandbox' works in new shells:"
  echo "  echo 'export PATH=\"\$PATH:$tools\"' >> ~/.profile"
fi
