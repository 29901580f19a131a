using System.Diagnostics;
using System.Text.Json;

namespace DbBackup.Module.Tests;

/// <summary>
/// Runs tests/DbBackup.LoaderProbe in a child process against the laid-out out/DbBackup: DbBackup.dll in the
/// default context, the module's loader hooked as ModuleInitializer.OnImport does, then the engine forced to load.
/// A child process keeps the test host's own contexts out of the picture.
/// </summary>
public sealed class LoaderProbeFixture
{
    /// <summary>The committed sample (samples/make-sample.sh recreates it).</summary>
    public static string SampleDatabase => Path.Combine(ModuleLayout.RepoRoot, "samples", "shop.db");

    public LoaderProbeFixture()
    {
        var module = ModuleLayout.RequireModule();
        if (!File.Exists(SampleDatabase))
        {
            throw new InvalidOperationException($"{SampleDatabase} is missing; recreate it with samples/make-sample.sh.");
        }
        if (!File.Exists(ModuleLayout.LoaderProbe))
        {
            throw new InvalidOperationException($"{ModuleLayout.LoaderProbe} is missing; build tests/DbBackup.Module.Tests (it builds the probe).");
        }

        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(ModuleLayout.LoaderProbe);
        start.ArgumentList.Add(module);
        start.ArgumentList.Add(SampleDatabase);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        Output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the loader probe did not finish within 60 s");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"the loader probe failed ({process.ExitCode}):\n{stderr.Result}\n{Output}");
        }
        Facts = JsonDocument.Parse(Output).RootElement.Clone();
    }

    public string Output { get; }
    public JsonElement Facts { get; }

    public object? Value(string name) => Facts.TryGetProperty(name, out var value) ? value : null;

    public string? Text(string name) => Facts.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    public bool Flag(string name) => Facts.GetProperty(name).GetBoolean();
    public string[] List(string name) => Facts.GetProperty(name).EnumerateArray().Select(e => e.GetString()!).ToArray();
}

public sealed class LoaderTests(LoaderProbeFixture probe) : IClassFixture<LoaderProbeFixture>
{
    private const string PrivateContext = "DbBackup.Dependencies";

    [Fact]
    public void Cmdlets_and_Model_load_in_the_default_context_from_the_module_root()
    {
        Assert.Equal("Default", probe.Text("cmdletsContext"));
        Assert.Equal("Default", probe.Text("modelContext"));
        Assert.Equal(Path.Combine(ModuleLayout.ModuleDirectory, "DbBackup.Model.dll"), probe.Text("modelLocation"));
        Assert.Equal(["DbBackup", "DbBackup.Model"], probe.List("defaultContextAssemblies"));
    }

    [Fact]
    public void Engine_loads_in_the_private_context_from_Dependencies()
    {
        Assert.Equal(PrivateContext, probe.Text("privateContext"));
        Assert.Equal("DbBackup.PowerShell.Loading.DependencyLoadContext", probe.Text("privateContextType"));
        Assert.Equal(PrivateContext, probe.Text("engineContext"));
        Assert.Equal(Path.Combine(ModuleLayout.DependencyDirectory, "DbBackup.Engine.dll"), probe.Text("engineLocation"));
    }

    [Fact]
    public void The_Model_type_the_engine_sees_is_the_default_contexts_type()
    {
        Assert.Equal("DbBackup.BackupRecord", probe.Text("engineRecordType"));
        Assert.Equal("Default", probe.Text("engineRecordContext"));
        Assert.True(probe.Flag("modelTypeIdentical"), probe.Output);
        Assert.DoesNotContain("DbBackup.Model", probe.List("privateContextAssemblies"));
    }

    [Fact]
    public void Npgsql_loads_privately_and_is_absent_from_the_default_context()
    {
        Assert.Equal(PrivateContext, probe.Text("npgsqlContext"));
        Assert.Equal(Path.Combine(ModuleLayout.DependencyDirectory, "Npgsql.dll"), probe.Text("npgsqlLocation"));
        Assert.Equal("Host=127.0.0.1", probe.Text("npgsqlUsable"));
        Assert.False(probe.Flag("npgsqlInDefaultContext"));
        Assert.False(probe.Flag("defaultContextResolvesNpgsql"), "the default context's Resolving hook must serve DbBackup.Engine only");
        Assert.False(probe.Flag("defaultContextResolvesSqlite"));
        Assert.Contains("Npgsql", probe.List("privateContextAssemblies"));
    }

    [Fact]
    public void Native_SQLite_is_served_from_Dependencies_runtimes_and_works()
    {
        Assert.Null(probe.Text("sqliteError"));
        Assert.Equal(PrivateContext, probe.Text("sqliteContext"));
        Assert.Matches(@"^3\.\d+\.\d+$", probe.Text("sqliteVersion") ?? "");
        var runtimes = Path.Combine(ModuleLayout.DependencyDirectory, "runtimes") + Path.DirectorySeparatorChar;
        var served = Assert.Single(probe.List("sqliteNativeServed"));
        Assert.StartsWith(runtimes, served);
        Assert.Contains("e_sqlite3", Path.GetFileName(served));
        if (OperatingSystem.IsLinux())
        {
            // The process's memory map agrees: the e_sqlite3 in use is the module's copy.
            Assert.Equal(served, probe.Text("sqliteNativePath"));
        }
        Assert.Contains("SQLitePCLRaw.provider.e_sqlite3", probe.List("privateContextAssemblies"));
    }

    [Fact]
    public void The_engine_backs_up_verifies_and_restores_SQLite_through_the_private_context()
    {
        Assert.Null(probe.Text("roundTripError"));
        Assert.True(probe.Flag("roundTripRecordIsModelType"), "BackupAsync must return the default context's BackupRecord");
        Assert.True(probe.Flag("roundTripVerificationIsModelType"));
        Assert.True(probe.Flag("roundTripRestoreIsModelType"));
        Assert.True(probe.Facts.GetProperty("roundTripFrames").GetInt32() > 0);
        Assert.True(probe.Flag("roundTripValid"));
        Assert.True(probe.Flag("roundTripSchemaEqual"));
        Assert.True(probe.Flag("roundTripRowCountsEqual"), probe.Text("roundTripRowCounts"));
        Assert.Equal("ok", probe.Text("roundTripIntegrity"));
        Assert.DoesNotContain("Microsoft.Data.Sqlite", probe.List("defaultContextAssemblies"));
    }
}
