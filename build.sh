#!/usr/bin/env bash
# Thin wrapper: the build (including laying out out/DbBackup) is MSBuild's job, see src/DbBackup/DbBackup.Layout.targets.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build DbBackup.sln -c "${CONFIGURATION:-Release}" "$@"
echo "Module: $(pwd)/out/DbBackup"
echo "Import it with: pwsh -Command \"Import-Module '$(pwd)/out/DbBackup'\""
