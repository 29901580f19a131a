using System.Reflection;

namespace DbBackup.Module.Tests;

/// <summary>The compiled cmdlets, checked by metadata (they cannot run without a PowerShell runtime).</summary>
public sealed class CmdletMetadataTests(ModuleMetadata module) : IClassFixture<ModuleMetadata>
{
    public static readonly string[] ExpectedCmdlets =
        ["Backup-Database", "Copy-Backup", "Get-BackupHistory", "Restore-Database", "Test-Backup", "Test-DatabaseConnection"];

    private const int ConfirmImpactLow = 1;
    private const int ConfirmImpactMedium = 2;

    private static readonly string[] CommonParameters =
    [
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable",
        "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable", "WhatIf", "Confirm",
    ];

    [Fact]
    public void The_module_defines_exactly_the_six_cmdlets()
    {
        Assert.Equal(ExpectedCmdlets, module.Cmdlets.Select(c => c.Name).ToArray());
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Cmdlet_uses_an_approved_verb(string name)
    {
        var approved = module.ApprovedVerbs();
        Assert.True(approved.Count > 50, "the approved verbs were not read from System.Management.Automation");
        Assert.Contains(module.Cmdlet(name).Verb, approved);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Cmdlet_class_is_a_sealed_Verb_Noun_Command_over_the_base_class(string name)
    {
        var cmdlet = module.Cmdlet(name);
        Assert.Equal("DbBackup.PowerShell.Commands", cmdlet.Type.Namespace);
        Assert.Equal(cmdlet.Verb + cmdlet.Noun + "Command", cmdlet.Type.Name);
        Assert.True(cmdlet.Type.IsSealed);
        Assert.Equal("DbBackup.PowerShell.DbBackupCmdlet", cmdlet.Type.BaseType!.FullName);
        Assert.Equal("System.Management.Automation.PSCmdlet", cmdlet.Type.BaseType!.BaseType!.FullName);
        var source = Path.Combine(ModuleLayout.RepoRoot, "src", "DbBackup", "Commands", cmdlet.Type.Name + ".cs");
        Assert.True(File.Exists(source), $"{source} (one cmdlet per file) is missing");
    }

    [Theory]
    [InlineData("Backup-Database", "BackupRecord")]
    [InlineData("Get-BackupHistory", "BackupRecord")]
    [InlineData("Restore-Database", "RestoreResult")]
    [InlineData("Test-Backup", "VerificationResult")]
    [InlineData("Test-DatabaseConnection", "ConnectionTestResult")]
    [InlineData("Copy-Backup", "CopyResult")]
    public void Cmdlet_declares_its_Model_record_as_OutputType(string name, string record)
    {
        var output = Assert.Single(module.Cmdlet(name).OutputTypes);
        Assert.Equal("DbBackup." + record, output.FullName);
        Assert.Same(module.Model, output.Assembly);
    }

    [Theory]
    [InlineData("Restore-Database")]
    [InlineData("Test-Backup")]
    [InlineData("Copy-Backup")]
    public void BackupRecord_binds_from_the_pipeline_beside_an_Id_set(string name)
    {
        var cmdlet = module.Cmdlet(name);
        Assert.Equal("InputObject", cmdlet.DefaultParameterSetName);
        Assert.Equal(["Id", "InputObject"], cmdlet.ParameterSetNames);

        var inputObject = cmdlet.Parameter("InputObject");
        Assert.Equal("DbBackup.BackupRecord", inputObject.Type.FullName);
        Assert.Same(module.Model, inputObject.Type.Assembly);
        var set = Assert.Single(inputObject.Sets);
        Assert.Equal(new ParameterSetEntry("InputObject", Mandatory: true, Position: 0, ValueFromPipeline: true, ValueFromPipelineByPropertyName: false), set);

        var backupId = cmdlet.Parameter("BackupId");
        Assert.Equal(typeof(string).FullName, backupId.Type.FullName);
        Assert.Equal(new ParameterSetEntry("Id", Mandatory: true, Position: 0, ValueFromPipeline: false, ValueFromPipelineByPropertyName: true),
            Assert.Single(backupId.Sets));

        var repository = cmdlet.Parameter("Repository");
        Assert.Contains(repository.Sets, s => s is { SetName: "Id", Mandatory: true, ValueFromPipelineByPropertyName: true });
        Assert.Contains(repository.Sets, s => s is { SetName: "InputObject", Mandatory: false });
    }

    [Fact]
    public void Parameter_set_names_are_the_base_class_constants()
    {
        var baseType = module.Module.GetType("DbBackup.PowerShell.DbBackupCmdlet", throwOnError: true)!;
        var constants = baseType.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name.EndsWith("ParameterSet", StringComparison.Ordinal))
            .ToDictionary(f => f.Name, f => (string)f.GetRawConstantValue()!);
        Assert.Equal("InputObject", constants["InputObjectParameterSet"]);
        Assert.Equal("Id", constants["IdParameterSet"]);
        var used = module.Cmdlets.SelectMany(c => c.ParameterSetNames).ToHashSet();
        Assert.Subset(constants.Values.ToHashSet(), used);
    }

    [Fact]
    public void Restore_Database_asks_before_acting_with_Medium_impact_and_has_Force()
    {
        var restore = module.Cmdlet("Restore-Database");
        Assert.True(restore.SupportsShouldProcess);
        Assert.Equal(ConfirmImpactMedium, restore.ConfirmImpact);
        Assert.Equal("SwitchParameter", restore.Parameter("Force").Type.Name);
        Assert.Equal("String", restore.Parameter("TargetDatabase").Type.Name);
        Assert.DoesNotContain(restore.Parameter("TargetDatabase").Sets, s => s.Mandatory);
    }

    [Fact]
    public void Backup_Database_supports_WhatIf_with_Low_impact()
    {
        var backup = module.Cmdlet("Backup-Database");
        Assert.True(backup.SupportsShouldProcess);
        Assert.Equal(ConfirmImpactLow, backup.ConfirmImpact);
    }

    [Fact]
    public void Copy_Backup_writes_so_it_supports_WhatIf_with_Low_impact_and_takes_several_destinations()
    {
        var copy = module.Cmdlet("Copy-Backup");
        Assert.True(copy.SupportsShouldProcess);
        Assert.Equal(ConfirmImpactLow, copy.ConfirmImpact);
        var destination = copy.Parameter("Destination");
        Assert.Equal("String[]", destination.HelpTypeName);
        Assert.Empty(destination.Aliases);
        Assert.All(destination.Sets, s => Assert.True(s is { Mandatory: true, Position: 1, ValueFromPipeline: false }));
        Assert.Empty(copy.Parameter("Repository").Aliases);
        Assert.Equal(new ParameterSetEntry("Id", Mandatory: false, Position: int.MinValue, ValueFromPipeline: false, ValueFromPipelineByPropertyName: true),
            Assert.Single(copy.Parameter("Database").Sets));
    }

    [Fact]
    public void Backup_Database_Repository_takes_several_locations_first_written_rest_copied()
    {
        var repository = module.Cmdlet("Backup-Database").Parameter("Repository");
        Assert.Equal("String[]", repository.HelpTypeName);
        Assert.Equal(["Destination"], repository.Aliases);
        Assert.True(Assert.Single(repository.Sets) is { Mandatory: true, Position: 1 });
    }

    [Theory]
    [InlineData("Get-BackupHistory")]
    [InlineData("Test-Backup")]
    [InlineData("Test-DatabaseConnection")]
    public void Read_only_cmdlets_do_not_claim_ShouldProcess(string name)
    {
        Assert.False(module.Cmdlet(name).SupportsShouldProcess);
    }

    [Fact]
    public void Secrets_are_PSCredential_and_SecureString()
    {
        var credentials = module.Cmdlets.SelectMany(c => c.Parameters).Where(p => p.Name == "Credential").ToArray();
        var passphrases = module.Cmdlets.SelectMany(c => c.Parameters).Where(p => p.Name == "Passphrase").ToArray();
        Assert.Equal(3, credentials.Length); // Backup-Database, Restore-Database, Test-DatabaseConnection
        Assert.Equal(4, passphrases.Length); // Backup-Database, Restore-Database, Test-Backup, Copy-Backup
        Assert.All(credentials, p =>
        {
            Assert.Equal("System.Management.Automation.PSCredential", p.Type.FullName);
            Assert.Contains("CredentialAttribute", p.AttributeNames);
        });
        Assert.All(passphrases, p => Assert.Equal("System.Security.SecureString", p.Type.FullName));
        Assert.DoesNotContain(module.Cmdlets.SelectMany(c => c.Parameters),
            p => p.Name.Contains("Password", StringComparison.OrdinalIgnoreCase) && p.Type.FullName == typeof(string).FullName);
    }

    [Fact]
    public void Repository_has_the_Destination_alias_and_Server_the_Host_alias_everywhere()
    {
        // Copy-Backup is the exception: its -Repository is the source and -Destination a parameter of its own (the targets).
        var repositories = module.Cmdlets.Where(c => c.Name != "Copy-Backup").SelectMany(c => c.Parameters).Where(p => p.Name == "Repository").ToArray();
        var servers = module.Cmdlets.SelectMany(c => c.Parameters).Where(p => p.Name == "Server").ToArray();
        Assert.Equal(4, repositories.Length);
        Assert.Equal(3, servers.Length);
        Assert.All(repositories, p => Assert.Equal(["Destination"], p.Aliases));
        Assert.All(servers, p => Assert.Equal(["Host"], p.Aliases));
    }

    [Theory]
    [InlineData("Backup-Database", "Engine:DatabaseEngine", "Server:String", "Port:Int32", "Database:String[]", "Credential:PSCredential",
        "ConnectTimeout:Int32", "Repository:String[]", "Compression:CompressionCodec", "CompressionLevel:Int32", "Passphrase:SecureString",
        "KeyFile:String", "VolumeSize:Int64", "ToolDirectory:String")]
    [InlineData("Restore-Database", "InputObject:BackupRecord", "BackupId:String", "Repository:String", "TargetDatabase:String", "Server:String",
        "Port:Int32", "Credential:PSCredential", "ConnectTimeout:Int32", "ToolDirectory:String", "Passphrase:SecureString", "KeyFile:String",
        "Force:SwitchParameter")]
    [InlineData("Get-BackupHistory", "Database:String", "Repository:String", "Engine:DatabaseEngine", "BackupId:String", "Last:Int32",
        "Since:DateTime", "Refresh:SwitchParameter")]
    [InlineData("Test-Backup", "InputObject:BackupRecord", "BackupId:String", "Repository:String", "Passphrase:SecureString", "KeyFile:String")]
    [InlineData("Copy-Backup", "InputObject:BackupRecord", "BackupId:String", "Repository:String", "Database:String", "Destination:String[]",
        "NoVerify:SwitchParameter", "Passphrase:SecureString", "KeyFile:String")]
    [InlineData("Test-DatabaseConnection", "Engine:DatabaseEngine", "Server:String", "Port:Int32", "Database:String[]",
        "Credential:PSCredential", "ConnectTimeout:Int32", "ToolDirectory:String")]
    public void Cmdlet_has_exactly_these_parameters(string name, params string[] expected)
    {
        var actual = module.Cmdlet(name).Parameters.Select(p => $"{p.Name}:{p.HelpTypeName}").ToArray();
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("Backup-Database")]
    [InlineData("Test-DatabaseConnection")]
    public void Connection_cmdlets_require_Engine_and_take_databases_from_the_pipeline(string name)
    {
        var cmdlet = module.Cmdlet(name);
        Assert.True(Assert.Single(cmdlet.Parameter("Engine").Sets).Mandatory);
        var database = Assert.Single(cmdlet.Parameter("Database").Sets);
        Assert.True(database is { Mandatory: true, ValueFromPipeline: true, ValueFromPipelineByPropertyName: true, Position: 0 });
    }

    [Fact]
    public void Get_BackupHistory_Database_supports_wildcards_and_completes_from_the_catalog()
    {
        var database = module.Cmdlet("Get-BackupHistory").Parameter("Database");
        Assert.True(database.SupportsWildcards);
        var completer = module.Cmdlet("Get-BackupHistory").Type.GetProperty("Database")!.GetCustomAttributesData()
            .Single(a => a.AttributeType.Name == "ArgumentCompleterAttribute");
        var completerType = (Type)completer.ConstructorArguments.Single().Value!;
        Assert.Contains(completerType.GetInterfaces(), i => i.FullName == "System.Management.Automation.IArgumentCompleter");
        Assert.False(module.Cmdlet("Get-BackupHistory").Parameter("Refresh").Sets.Single().Mandatory);
    }

    [Fact]
    public void No_parameter_shadows_a_common_parameter()
    {
        Assert.DoesNotContain(module.Cmdlets.SelectMany(c => c.Parameters), p => CommonParameters.Contains(p.Name));
    }

    [Fact]
    public void No_public_cmdlet_surface_exposes_an_engine_type()
    {
        // PowerShell reflects over cmdlet properties while importing; engine types there would have to load
        // before the private load context is hooked, and would leak the engine into the default context.
        var exposed = module.Module.GetExportedTypes()
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Select(p => (Member: $"{t.Name}.{p.Name}", Type: p.PropertyType)))
            .Where(m => ModuleMetadata.Unwrap(m.Type).Assembly.GetName().Name == "DbBackup.Engine")
            .Select(m => m.Member)
            .ToArray();
        Assert.Empty(exposed);
    }

    [Fact]
    public void The_module_initializer_hooks_import_and_removal()
    {
        var initializer = module.Module.GetType("DbBackup.PowerShell.ModuleInitializer", throwOnError: true)!;
        var interfaces = initializer.GetInterfaces().Select(i => i.FullName).ToArray();
        Assert.Contains("System.Management.Automation.IModuleAssemblyInitializer", interfaces);
        Assert.Contains("System.Management.Automation.IModuleAssemblyCleanup", interfaces);
    }

    [Fact]
    public void The_loader_has_no_PowerShell_types_in_its_surface()
    {
        var loaderTypes = module.Module.GetTypes().Where(t => t.Namespace == "DbBackup.PowerShell.Loading").ToArray();
        Assert.Contains(loaderTypes, t => t.Name == "DependencyLoadContext");
        Assert.Contains(loaderTypes, t => t.Name == "ModuleLoader");
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var mentioned = loaderTypes.SelectMany(t =>
                new[] { t.BaseType }.Concat(t.GetInterfaces())
                    .Concat(t.GetFields(all).Select(f => f.FieldType))
                    .Concat(t.GetMethods(all).SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType)))
                    .Concat(t.GetProperties(all).Select(p => p.PropertyType)))
            .OfType<Type>();
        Assert.DoesNotContain(mentioned, type => type.Assembly.GetName().Name == "System.Management.Automation");
        Assert.DoesNotContain(mentioned, type => type.Assembly.GetName().Name == "DbBackup.Engine");
    }

    public static TheoryData<string> CmdletNames() => new(ExpectedCmdlets);
}
