namespace DbBackup.TestSupport;

/// <summary>
/// Addresses of the real servers started by tests/run-tests.sh. Without them an integration test fails
/// with a message naming the script — never a silent pass.
/// </summary>
public static class TestServers
{
    public const string Script = "tests/run-tests.sh";

    public static string Require(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException(
                $"{variable} is not set: integration tests need the real servers started by {Script}. Run the suite with '{Script}'.");
        }
        return value;
    }
}
