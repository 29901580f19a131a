using System.Reflection;
using DbBackup.Engine.Errors;
using Xunit;

namespace DbBackup.Cli.Tests;

/// <summary>Every stable error id has its documented exit code (docs/cli.md), so no id falls back to its error kind unseen.</summary>
public sealed class ExitCodeTableTests
{
    public static TheoryData<string> ErrorIdNames()
    {
        var data = new TheoryData<string>();
        foreach (var field in typeof(ErrorIds).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
        {
            data.Add((string)field.GetRawConstantValue()!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ErrorIdNames))]
    public void Every_error_id_has_an_exit_code_listed_in_docs_cli_md(string errorId)
    {
        var code = ExitCodes.ForErrorId(errorId);
        Assert.True(code is not null, $"{errorId} has no exit code in ExitCodes.ForErrorId");
        var docs = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "cli.md"));
        var row = docs.Split('\n').SingleOrDefault(l => l.StartsWith($"| {code} |", StringComparison.Ordinal));
        Assert.True(row is not null && row.Contains($"`{errorId}`", StringComparison.Ordinal), $"docs/cli.md's exit-code table does not list {errorId} under {code}");
    }

    [Fact]
    public void Cloud_storage_errors_map_like_their_database_counterparts()
    {
        Assert.Equal(ExitCodes.ForErrorId(ErrorIds.AuthenticationFailed), ExitCodes.ForErrorId(ErrorIds.StorageAuthenticationFailed));
        Assert.Equal(ExitCodes.ForErrorId(ErrorIds.AuthenticationFailed), ExitCodes.ForErrorId(ErrorIds.StorageCredentialsMissing));
        Assert.Equal(ExitCodes.ForErrorId(ErrorIds.InsufficientPrivilege), ExitCodes.ForErrorId(ErrorIds.StorageAccessDenied));
        Assert.Equal(ExitCodes.ForErrorId(ErrorIds.RepositoryNotFound), ExitCodes.ForErrorId(ErrorIds.StorageContainerNotFound));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DbBackup.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("DbBackup.sln not found above " + AppContext.BaseDirectory);
    }
}
