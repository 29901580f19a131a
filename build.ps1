#Requires -Version 7.4
<#
.SYNOPSIS
    Builds DbBackup and prints the path of the laid-out module.
.DESCRIPTION
    A thin wrapper: 'dotnet build DbBackup.sln' does everything, including laying out out/DbBackup
    (see src/DbBackup/DbBackup.Layout.targets). Writes the module folder, so this works:
    Import-Module (./build.ps1)
#>
[CmdletBinding()]
param(
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
dotnet build (Join-Path $PSScriptRoot 'DbBackup.sln') -c $Configuration
if ($LASTEXITCODE -ne 0) {
    throw "dotnet build failed with exit code $LASTEXITCODE."
}
Join-Path $PSScriptRoot 'out' 'DbBackup'
