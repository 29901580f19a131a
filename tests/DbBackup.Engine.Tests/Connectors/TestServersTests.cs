using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Engine.Tests.Connectors;

public sealed class TestServersTests
{
    [Fact]
    public void MissingServerAddress_FailsNamingTheScript_NeverSkips()
    {
        var e = Assert.Throws<InvalidOperationException>(() => TestServers.Require("DBBACKUP_TEST_NOT_EXPORTED_BY_ANYONE"));
        Assert.Contains("tests/run-tests.sh", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DumpComparer_IgnoresOnlyTheListedVolatileLines()
    {
        const string a = "\\restrict abc\n-- Dumped from database version 15.1\nCREATE TABLE t (id int);\nCOPY t (id) FROM stdin;\n1\n\\.\n";
        const string b = "\\restrict xyz\n-- Dumped from database version 15.2\nCREATE TABLE t (id int);\nCOPY t (id) FROM stdin;\n1\n\\.\n";
        Assert.True(DumpComparer.Compare(DatabaseEngine.PostgreSql, a, b).Equal);
        Assert.False(DumpComparer.Compare(DatabaseEngine.PostgreSql, a, b.Replace("\n1\n", "\n2\n", StringComparison.Ordinal)).Equal);
        Assert.False(DumpComparer.Compare(DatabaseEngine.PostgreSql, a, b + "extra\n").Equal);

        const string m1 = "-- Host: 127.0.0.1    Database: t_1\n) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4;\n-- Dump completed on 2024-01-01\n";
        const string m2 = "-- Host: 127.0.0.1    Database: t_2\n) ENGINE=InnoDB AUTO_INCREMENT=9 DEFAULT CHARSET=utf8mb4;\n-- Dump completed\n";
        Assert.True(DumpComparer.Compare(DatabaseEngine.MySql, m1, m2).Equal);
        Assert.False(DumpComparer.Compare(DatabaseEngine.MySql, m1, m2.Replace("utf8mb4", "latin1", StringComparison.Ordinal)).Equal);
    }
}
