using System.Diagnostics;
using System.Security.Cryptography;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Pipeline.Crypto;
using Xunit;
using Xunit.Abstractions;

namespace DbBackup.Engine.Tests.Pipeline;

public sealed class KeyTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _temp = new();
    private static readonly byte[] ChunkIdKey = PipelineTestData.ChunkIdKey;

    [Fact]
    public void PassphraseUsesPbkdf2With600000IterationsByDefault()
    {
        var options = new EncryptionOptions { Passphrase = new SecretValue("a long passphrase") };
        var watch = Stopwatch.StartNew();
        var keys = BackupKeys.Create(options, ChunkIdKey);
        var wrapped = Assert.Single(keys.Header.Keys);
        Assert.Equal("AES-256-GCM", keys.Header.Algorithm);
        Assert.Equal(("passphrase", "pbkdf2-sha256", 600_000), (wrapped.Kind, wrapped.Kdf, wrapped.Iterations));
        Assert.Equal(16, Convert.FromBase64String(wrapped.Salt!).Length);
        var opened = BackupKeys.Open(keys.Header, options, ChunkIdKey);
        output.WriteLine($"create + open with 600k iterations: {watch.ElapsedMilliseconds} ms");
        Assert.Equal(keys.ComputeManifestMac("manifest"u8), opened.ComputeManifestMac("manifest"u8));
        Assert.DoesNotContain("a long passphrase", System.Text.Json.JsonSerializer.Serialize(keys.Header));
    }

    [Fact]
    public void WrongPassphraseIsWrongKey()
    {
        var keys = Create(new EncryptionOptions { Passphrase = new SecretValue("right") });
        var error = Assert.Throws<BackupIntegrityException>(() => BackupKeys.Open(keys.Header, new EncryptionOptions { Passphrase = new SecretValue("wrong") }, ChunkIdKey));
        Assert.Equal(ErrorIds.WrongKey, error.ErrorId);
        Assert.DoesNotContain("wrong", error.Message.Replace("WrongKey", ""), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingKeyIsKeyRequired()
    {
        var keys = Create(new EncryptionOptions { Passphrase = new SecretValue("right") });
        Assert.Equal(ErrorIds.KeyRequired, Assert.Throws<BackupIntegrityException>(() => BackupKeys.Open(keys.Header, null, ChunkIdKey)).ErrorId);
        Assert.Equal(ErrorIds.KeyRequired, Assert.Throws<BackupIntegrityException>(() => BackupKeys.Open(keys.Header, new EncryptionOptions(), ChunkIdKey)).ErrorId);
        // A key file offered for a backup that only a passphrase opens.
        var error = Assert.Throws<BackupIntegrityException>(() => BackupKeys.Open(keys.Header, new EncryptionOptions { KeyFile = KeyFile("k1") }, ChunkIdKey));
        Assert.Equal(ErrorIds.KeyRequired, error.ErrorId);
        Assert.Contains("passphrase", error.RecommendedAction);
    }

    [Fact]
    public void KeyFileOpensAndAnotherKeyFileIsWrongKey()
    {
        var keyFile = KeyFile("right.key");
        var keys = Create(new EncryptionOptions { KeyFile = keyFile });
        var wrapped = Assert.Single(keys.Header.Keys);
        Assert.Equal("keyfile", wrapped.Kind);
        Assert.Equal(16, wrapped.KeyFingerprint!.Length);
        BackupKeys.Open(keys.Header, new EncryptionOptions { KeyFile = keyFile }, ChunkIdKey);
        var error = Assert.Throws<BackupIntegrityException>(() => BackupKeys.Open(keys.Header, new EncryptionOptions { KeyFile = KeyFile("other.key") }, ChunkIdKey));
        Assert.Equal(ErrorIds.WrongKey, error.ErrorId);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void KeyFileOfTheWrongSizeIsRejectedClearly(int size)
    {
        var path = _temp.Combine($"bad-{size}.key");
        File.WriteAllBytes(path, new byte[size]);
        var error = Assert.Throws<DbBackupException>(() => BackupKeys.Create(new EncryptionOptions { KeyFile = path }, ChunkIdKey));
        Assert.Equal(ErrorIds.InvalidArgument, error.ErrorId);
        Assert.Contains($"holds {size} bytes", error.Message);
        Assert.Contains("exactly 32", error.Message);
        Assert.Contains("/dev/urandom", error.RecommendedAction);

        var keys = Create(new EncryptionOptions { KeyFile = KeyFile("good.key") });
        Assert.Equal(ErrorIds.InvalidArgument, Assert.Throws<DbBackupException>(() => BackupKeys.Open(keys.Header, new EncryptionOptions { KeyFile = path }, ChunkIdKey)).ErrorId);
        Assert.Equal(ErrorIds.InvalidArgument, Assert.Throws<DbBackupException>(() => BackupKeys.Create(new EncryptionOptions { KeyFile = _temp.Combine("absent.key") }, ChunkIdKey)).ErrorId);
    }

    [Fact]
    public void EitherOfSeveralWrappedCopiesOpensTheSameDataKey()
    {
        var keyFile = KeyFile("both.key");
        var keys = Create(new EncryptionOptions { Passphrase = new SecretValue("pass"), KeyFile = keyFile });
        Assert.Equal(2, keys.Header.Keys.Count);
        var mac = keys.ComputeManifestMac("m"u8);
        Assert.Equal(mac, BackupKeys.Open(keys.Header, new EncryptionOptions { Passphrase = new SecretValue("pass") }, ChunkIdKey).ComputeManifestMac("m"u8));
        Assert.Equal(mac, BackupKeys.Open(keys.Header, new EncryptionOptions { KeyFile = keyFile }, ChunkIdKey).ComputeManifestMac("m"u8));
    }

    [Fact]
    public void RotationRewrapsTheDataKeyWithoutReencrypting()
    {
        var keys = Create(new EncryptionOptions { Passphrase = new SecretValue("old") });
        var rotated = keys.Rewrap(new EncryptionOptions { KeyFile = KeyFile("new.key") }, keepExisting: false);
        Assert.Equal("keyfile", Assert.Single(rotated.Keys).Kind);
        var opened = BackupKeys.Open(rotated, new EncryptionOptions { KeyFile = _temp.Combine("new.key") }, ChunkIdKey);
        Assert.Equal(keys.ComputeManifestMac("x"u8), opened.ComputeManifestMac("x"u8));
        Assert.Equal(ErrorIds.KeyRequired, Assert.Throws<BackupIntegrityException>(() => BackupKeys.Open(rotated, new EncryptionOptions { Passphrase = new SecretValue("old") }, ChunkIdKey)).ErrorId);
        Assert.Equal(2, keys.Rewrap(new EncryptionOptions { KeyFile = _temp.Combine("new.key") }, keepExisting: true).Keys.Count);
    }

    [Fact]
    public void ManifestMacDependsOnEveryByteAndOnTheBackup()
    {
        var options = new EncryptionOptions { KeyFile = KeyFile("m.key") };
        var keys = Create(options);
        var body = "{\"backupId\":\"x\"}"u8.ToArray();
        var mac = keys.ComputeManifestMac(body);
        Assert.Equal(32, mac.Length);
        Assert.True(keys.VerifyManifestMac(body, mac));
        body[3] ^= 1;
        Assert.False(keys.VerifyManifestMac(body, mac));
        Assert.NotEqual(mac, Create(options).ComputeManifestMac("{\"backupId\":\"x\"}"u8));
    }

    [Fact]
    public void RepositoryKeyRoundTripsAndIsNotInterchangeableWithADataKey()
    {
        var options = new EncryptionOptions { Passphrase = new SecretValue("repo pass") };
        var (key, header) = BackupKeys.CreateRepositoryKey(options);
        Assert.Equal(32, key.Length);
        Assert.Equal(600_000, header.Keys[0].Iterations);
        Assert.Equal(key, BackupKeys.OpenRepositoryKey(header, options));
        Assert.Equal(ErrorIds.WrongKey, Assert.Throws<BackupIntegrityException>(() => BackupKeys.OpenRepositoryKey(header, new EncryptionOptions { Passphrase = new SecretValue("nope") })).ErrorId);
        Assert.Equal(ErrorIds.KeyRequired, Assert.Throws<BackupIntegrityException>(() => BackupKeys.OpenRepositoryKey(header, null)).ErrorId);
        // A data-key header opened as the repository key fails: the purpose is bound into the wrapping.
        var data = Create(options);
        Assert.Equal(ErrorIds.WrongKey, Assert.Throws<BackupIntegrityException>(() => BackupKeys.OpenRepositoryKey(data.Header, options)).ErrorId);
    }

    [Fact]
    public async Task EncryptedChunkIdsAreKeyedHmacs()
    {
        var storage = new DbBackup.Engine.Storage.LocalFileStorage(_temp.Combine("repo"));
        var data = PipelineTestData.SqlText(200 * 1024, seed: 3);
        var options = new PipelineOptions { Chunker = PipelineTestData.SmallChunker(), Compression = CompressionCodec.None, Encryption = new EncryptionOptions { Passphrase = new SecretValue("p") } };
        var keys = Create(options.Encryption);
        var summary = await PipelineTestData.WriteAsync(storage, "db/c/", "c", data, options, keys);
        using var index = new FrameIndex.Reader(File.OpenRead(_temp.Combine("repo", "db", "c", "index")));
        var (frame, _) = await index.ReadNextAsync(CancellationToken.None);
        var plain = data.AsSpan(0, frame!.Value.PlainLength);
        Assert.Equal(HMACSHA256.HashData(ChunkIdKey, plain), frame.Value.ChunkId);
        Assert.NotEqual(SHA256.HashData(plain), frame.Value.ChunkId);
        // The stored bytes are not the plaintext.
        var volume = await File.ReadAllBytesAsync(_temp.Combine("repo", "db", "c", summary.Volumes[0].Name));
        Assert.False(volume.AsSpan(0, 100).SequenceEqual(data.AsSpan(0, 100)));
    }

    public void Dispose() => _temp.Dispose();

    private static BackupKeys Create(EncryptionOptions options) => BackupKeys.Create(options, ChunkIdKey, PipelineTestData.TestIterations);

    private string KeyFile(string name)
    {
        var path = _temp.Combine(name);
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(32));
        return path;
    }
}
