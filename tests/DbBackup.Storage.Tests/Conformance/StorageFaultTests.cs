using Xunit;

namespace DbBackup.Storage.Tests.Conformance;

// SKELETON: filled by the "core" helper (fault-injecting HTTP proxy in front of each emulator: errors and dropped
// connections mid-upload, the server going away; retried to success, or failed cleanly with nothing visible).
// Each cloud adapter derives one class from it:  public sealed class S3FaultTests(S3Fixture f) : StorageFaultTests<S3Fixture>(f);
/// <summary>Failure behaviour every networked adapter must have, run through a fault-injecting proxy.</summary>
public abstract class StorageFaultTests<TFixture>(TFixture fixture) : IClassFixture<TFixture>
    where TFixture : class, IStorageFixture
{
    protected TFixture Fixture { get; } = fixture;
}
