#
# Module manifest for DbBackup. The build lays out out/DbBackup/ and stamps ModuleVersion there from
# VersionPrefix in Directory.Build.props (the build's single version); the value below is only a placeholder.
#
@{
    RootModule           = 'DbBackup.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5d0c6a52-3f4e-4b8e-9a57-1c2f1e0b7d41'
    Author               = 'DbBackup contributors'
    CompanyName          = 'DbBackup'
    Copyright            = '(c) DbBackup contributors. All rights reserved.'
    Description          = 'Streaming, verifiable backup and restore of PostgreSQL, MySQL/MariaDB and SQLite databases: compressed, optionally encrypted, into local or object storage repositories.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('DbBackup.format.ps1xml')
    CmdletsToExport      = @(
        'Backup-Database'
        'Restore-Database'
        'Get-BackupHistory'
        'Test-Backup'
        'Test-DatabaseConnection'
        'Copy-Backup'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags = @('Backup', 'Restore', 'Database', 'PostgreSQL', 'MySQL', 'MariaDB', 'SQLite')
        }
    }
}
