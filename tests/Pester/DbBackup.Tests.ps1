#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# Runs the laid-out module in a real PowerShell (CI: .github/workflows/ci.yml). Build first: ./build.ps1

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path
    $script:ModulePath = Join-Path $RepoRoot 'out' 'DbBackup'
    if (-not (Test-Path (Join-Path $ModulePath 'DbBackup.psd1'))) {
        throw "The laid-out module is missing ($ModulePath). Build first: ./build.ps1"
    }
    Import-Module $ModulePath -Force
    $script:Expected = 'Backup-Database', 'Copy-Backup', 'Get-BackupHistory', 'Restore-Database', 'Test-Backup', 'Test-DatabaseConnection'
    $script:PrivateContext = 'DbBackup.Dependencies'
    function Get-LoadContextName([System.Reflection.Assembly] $Assembly) {
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($Assembly).Name
    }
}

AfterAll {
    Remove-Module DbBackup -ErrorAction SilentlyContinue
}

Describe 'The DbBackup module' {
    It 'exports exactly the six cmdlets' {
        ((Get-Command -Module DbBackup).Name | Sort-Object) -join ',' | Should -Be ($Expected -join ',')
    }

    It 'has a valid manifest carrying the build version' {
        $manifest = Test-ModuleManifest (Join-Path $ModulePath 'DbBackup.psd1')
        [xml] $props = Get-Content (Join-Path $RepoRoot 'Directory.Build.props') -Raw
        $manifest.Version | Should -Be ([version] $props.Project.PropertyGroup.VersionPrefix)
        ($manifest.ExportedCmdlets.Keys | Sort-Object) -join ',' | Should -Be ($Expected -join ',')
    }

    It 'loads the cmdlets and the records into the default load context' {
        $cmdlets = (Get-Command Backup-Database).ImplementingType.Assembly
        Get-LoadContextName $cmdlets | Should -Be 'Default'
        Get-LoadContextName ([DbBackup.BackupRecord].Assembly) | Should -Be 'Default'
    }

    It 'declares its output types' -ForEach @(
        @{ Name = 'Backup-Database'; Type = 'DbBackup.BackupRecord' }
        @{ Name = 'Get-BackupHistory'; Type = 'DbBackup.BackupRecord' }
        @{ Name = 'Restore-Database'; Type = 'DbBackup.RestoreResult' }
        @{ Name = 'Test-Backup'; Type = 'DbBackup.VerificationResult' }
        @{ Name = 'Test-DatabaseConnection'; Type = 'DbBackup.ConnectionTestResult' }
        @{ Name = 'Copy-Backup'; Type = 'DbBackup.CopyResult' }
    ) {
        (Get-Command $Name).OutputType.Name | Should -Be $Type
    }

    It 'binds BackupRecord from the pipeline in Restore-Database and Test-Backup' -ForEach @(
        @{ Name = 'Restore-Database' }, @{ Name = 'Test-Backup' }
    ) {
        $inputObject = (Get-Command $Name).Parameters['InputObject']
        $inputObject.ParameterType | Should -Be ([DbBackup.BackupRecord])
        $inputObject.ParameterSets['InputObject'].ValueFromPipeline | Should -BeTrue
        (Get-Command $Name).Parameters['BackupId'].ParameterSets['Id'].ValueFromPipelineByPropertyName | Should -BeTrue
        (Get-Command $Name).Parameters['Repository'].Aliases | Should -Contain 'Destination'
    }
}

Describe 'Help' {
    It '<Name> has a docs page that documents every parameter' -ForEach @(
        'Backup-Database', 'Copy-Backup', 'Get-BackupHistory', 'Restore-Database', 'Test-Backup', 'Test-DatabaseConnection' | ForEach-Object { @{ Name = $_ } }
    ) {
        $page = Join-Path $RepoRoot 'docs' "$Name.md"
        $page | Should -Exist
        $text = Get-Content $page -Raw
        $common = @([System.Management.Automation.Cmdlet]::CommonParameters) + @([System.Management.Automation.Cmdlet]::OptionalCommonParameters)
        foreach ($parameter in (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }) {
            $text | Should -Match "(?m)^### -$parameter\s*$" -Because "-$parameter of $Name must be documented"
        }
        $text | Should -Match '(?m)^## EXAMPLES'
    }

    It '<Name> has syntax help for every parameter set' -ForEach @(
        'Backup-Database', 'Copy-Backup', 'Get-BackupHistory', 'Restore-Database', 'Test-Backup', 'Test-DatabaseConnection' | ForEach-Object { @{ Name = $_ } }
    ) {
        $help = Get-Help $Name -Full
        @($help.syntax.syntaxItem).Count | Should -Be @((Get-Command $Name).ParameterSets).Count
    }
}

Describe 'A real SQLite backup and restore of samples/shop.db' {
    BeforeAll {
        $script:Sample = Join-Path $RepoRoot 'samples' 'shop.db'
        if (-not (Test-Path $Sample)) { throw "$Sample is missing (it is committed; see samples/)." }
        $script:Work = Join-Path ([System.IO.Path]::GetTempPath()) ('dbbackup-pester-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $Work | Out-Null
        $script:SavedCatalog = $env:DBBACKUP_CATALOG
        $env:DBBACKUP_CATALOG = Join-Path $Work 'catalog.db'   # never touch the runner's real catalog
        Copy-Item $Sample (Join-Path $Work 'shop.db')
        Push-Location $Work   # relative paths must resolve against the PowerShell location

        $script:Sqlite3 = Get-Command sqlite3 -ErrorAction SilentlyContinue
        function Get-SqliteDump([string] $Path) {
            if (-not $Sqlite3) { throw 'sqlite3 is required to compare databases (the workflow installs it).' }
            (& $Sqlite3.Source $Path .dump) -join "`n"
        }
    }

    AfterAll {
        Pop-Location
        $env:DBBACKUP_CATALOG = $SavedCatalog
        Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'tests the connection' {
        $result = Test-DatabaseConnection -Engine Sqlite -Database ./shop.db
        $result | Should -BeOfType DbBackup.ConnectionTestResult
        $result.Success | Should -BeTrue
    }

    It 'backs up into a relative repository, resolved against the current location' {
        $script:Record = Backup-Database -Engine Sqlite -Database ./shop.db -Destination ./repo
        $Record | Should -BeOfType DbBackup.BackupRecord
        $Record.Engine | Should -Be ([DbBackup.DatabaseEngine]::Sqlite)
        $Record.FrameCount | Should -BeGreaterThan 0
        Join-Path $Work 'repo' | Should -Exist
    }

    It 'loads the engine and SQLite into the private context' {
        $loaded = [System.AppDomain]::CurrentDomain.GetAssemblies() |
            Where-Object { $_.GetName().Name -in 'DbBackup.Engine', 'Microsoft.Data.Sqlite' }
        @($loaded).Count | Should -Be 2
        $loaded | ForEach-Object { Get-LoadContextName $_ | Should -Be $PrivateContext }
    }

    It 'lists the backup in the history' {
        (Get-BackupHistory -Repository ./repo).BackupId | Should -Contain $Record.BackupId
        (Get-BackupHistory -Database shop -Last 1).BackupId | Should -Be $Record.BackupId
    }

    It 'sees every backup of a repository from an empty catalog (a new machine)' {
        $env:DBBACKUP_CATALOG = Join-Path $Work 'fresh-catalog.db'
        Get-BackupHistory -Database shop | Should -BeNullOrEmpty   # nothing indexed yet
        (Get-BackupHistory -Repository ./repo).BackupId | Should -Contain $Record.BackupId
        (Get-BackupHistory -Repository ./repo -Refresh).BackupId | Should -Contain $Record.BackupId
    }

    It 'refuses -Refresh without -Repository as a terminating InvalidArgument error' {
        { Get-BackupHistory -Refresh -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
    }

    It 'verifies the backup' {
        $verification = $Record | Test-Backup
        $verification | Should -BeOfType DbBackup.VerificationResult
        $verification.IsValid | Should -BeTrue
        $verification.FramesChecked | Should -Be $Record.FrameCount
    }

    It 'restores from the pipeline into a new file with identical content' {
        $result = Get-BackupHistory -Repository ./repo -Last 1 | Restore-Database -TargetDatabase ./restored.db
        $result | Should -BeOfType DbBackup.RestoreResult
        Join-Path $Work 'restored.db' | Should -Exist
        Get-SqliteDump ./restored.db | Should -Be (Get-SqliteDump ./shop.db)
    }

    It 'detects a deleted row (negative control for the comparison)' {
        Copy-Item ./restored.db ./changed.db
        $table = & $Sqlite3.Source ./changed.db "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 1"
        & $Sqlite3.Source ./changed.db "DELETE FROM ""$table"" WHERE rowid = (SELECT min(rowid) FROM ""$table"")"
        Get-SqliteDump ./changed.db | Should -Not -Be (Get-SqliteDump ./shop.db)
    }

    It 'restores by backup id' {
        $result = Restore-Database -BackupId $Record.BackupId -Repository ./repo -TargetDatabase ./by-id.db
        $result.BackupId | Should -Be $Record.BackupId
        Get-SqliteDump ./by-id.db | Should -Be (Get-SqliteDump ./shop.db)
    }

    It 'restores into a new name by default' {
        $result = $Record | Restore-Database
        $result.TargetDatabase | Should -Match 'shop_restored_\d{14}'
        Get-ChildItem -Path $Work -Filter 'shop_restored_*' | Should -Not -BeNullOrEmpty
    }

    It 'changes nothing with -WhatIf' {
        $Record | Restore-Database -TargetDatabase ./whatif.db -WhatIf | Should -BeNullOrEmpty
        Join-Path $Work 'whatif.db' | Should -Not -Exist
    }

    It 'replaces a database that holds data only with -Force' {
        $result = $Record | Restore-Database -TargetDatabase ./restored.db -Force
        $result.ReplacedExisting | Should -BeTrue
    }

    It 'reports an unknown backup id as a non-terminating BackupNotFound error' {
        $output = Test-Backup -BackupId 'no-such-backup' -Repository ./repo -ErrorAction SilentlyContinue -ErrorVariable failures
        $output | Should -BeNullOrEmpty
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'BackupNotFound,*'
    }
}

Describe 'Several repositories per backup and Copy-Backup (SQLite, local repositories)' {
    BeforeAll {
        $script:Work = Join-Path ([System.IO.Path]::GetTempPath()) ('dbbackup-pester-copy-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $Work | Out-Null
        $script:SavedCatalog = $env:DBBACKUP_CATALOG
        $env:DBBACKUP_CATALOG = Join-Path $Work 'catalog.db'
        Copy-Item (Join-Path $RepoRoot 'samples' 'shop.db') (Join-Path $Work 'shop.db')
        Push-Location $Work
    }

    AfterAll {
        Pop-Location
        $env:DBBACKUP_CATALOG = $SavedCatalog
        Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'writes to the first repository, copies to the others and emits one record per repository' {
        $records = @(Backup-Database -Engine Sqlite -Database ./shop.db -Repository ./repo-a, ./repo-b)
        $records.Count | Should -Be 2
        $records | ForEach-Object { $_ | Should -BeOfType DbBackup.BackupRecord }
        $records[0].BackupId | Should -Be $records[1].BackupId
        $records[0].Repository | Should -Be (Join-Path $Work 'repo-a')
        $records[1].Repository | Should -Be (Join-Path $Work 'repo-b')
        $records | Test-Backup | ForEach-Object { $_.IsValid | Should -BeTrue }
        $script:Record = $records[0]
    }

    It 'copies a backup from the pipeline, verified, and a fresh catalog finds it in the target' {
        $result = $Record | Copy-Backup -Destination ./repo-c
        $result | Should -BeOfType DbBackup.CopyResult
        $result.Succeeded | Should -BeTrue
        $result.Verified | Should -BeTrue
        $result.ObjectsCopied | Should -BeGreaterThan 1
        $env:DBBACKUP_CATALOG = Join-Path $Work 'fresh-catalog.db'
        try {
            (Get-BackupHistory -Repository ./repo-c -Refresh).BackupId | Should -Be $Record.BackupId
        }
        finally {
            $env:DBBACKUP_CATALOG = Join-Path $Work 'catalog.db'
        }
        $again = Copy-Backup -BackupId $Record.BackupId -Repository ./repo-a -Destination ./repo-c
        $again.Succeeded | Should -BeTrue
        $again.ObjectsCopied | Should -Be 0
    }

    It 'reports a failing destination as a non-terminating error while the other destination gets its copy' {
        Set-Content -Path ./not-a-folder -Value 'a file, not a repository'
        $results = @($Record | Copy-Backup -Destination ./not-a-folder, ./repo-d -ErrorAction SilentlyContinue -ErrorVariable failures)
        $results.Count | Should -Be 2
        $results[0].Succeeded | Should -BeFalse
        $results[0].ErrorId | Should -Not -BeNullOrEmpty
        $results[1].Succeeded | Should -BeTrue
        $failures.Count | Should -Be 1
        $failures[0].TargetObject | Should -Be (Join-Path $Work 'not-a-folder')
        Join-Path $Work 'repo-d' | Should -Exist
    }

    It 'copies nothing with -WhatIf' {
        $Record | Copy-Backup -Destination ./repo-whatif -WhatIf
        Join-Path $Work 'repo-whatif' | Should -Not -Exist
    }
}
