using System.Security.Cryptography;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Pipeline.Crypto;
using DbBackup.Engine.Storage;
using Xunit;

namespace DbBackup.Engine.Tests.Pipeline;

/// <summary>A written backup in a temp folder, with helpers to damage it the way accidents and attackers would.</summary>
internal sealed class DamagedBackup : IDisposable
{
    public const string Prefix = "db/b/";
    public const string BackupId = "b";
    private readonly TempFolder _temp = new();

    private DamagedBackup() => Storage = new LocalFileStorage(_temp.Combine("repo"));

    public LocalFileStorage Storage { get; }
    public byte[] Data { get; private set; } = [];
    public DataSummary Summary { get; set; } = null!;
    public BackupKeys? Keys { get; private set; }
    public EncryptionOptions? Encryption { get; private set; }

    public static async Task<DamagedBackup> CreateAsync(bool encrypted)
    {
        var backup = new DamagedBackup();
        backup.Data = PipelineTestData.SqlText(900 * 1024, seed: 21);
        backup.Encryption = encrypted ? new EncryptionOptions { Passphrase = new SecretValue("p4ss phrase") } : null;
        backup.Keys = encrypted ? BackupKeys.Create(backup.Encryption!, PipelineTestData.ChunkIdKey, PipelineTestData.TestIterations) : null;
        var options = new PipelineOptions { Chunker = PipelineTestData.SmallChunker(), Compression = CompressionCodec.Zstd, VolumeSize = 80 * 1024, MaxParallelism = 2 };
        backup.Summary = await PipelineTestData.WriteAsync(backup.Storage, Prefix, BackupId, backup.Data, options, backup.Keys);
        Assert.True(backup.Summary.VolumeCount >= 3);
        return backup;
    }

    public string PathOf(string name) => _temp.Combine("repo", "db", "b", name);

    public string LastVolume => Summary.Volumes[^1].Name;

    /// <summary>Reads the backup; returns the exception and how many bytes the reader handed out before it.</summary>
    public async Task<(BackupIntegrityException Error, long Returned)> ReadExpectingFailureAsync()
    {
        long returned = 0;
        var error = await Assert.ThrowsAsync<BackupIntegrityException>(async () =>
        {
            await using var reader = await BackupDataReader.OpenAsync(Storage, Prefix, BackupId, Summary, Keys, CancellationToken.None);
            var buffer = new byte[8192];
            int n;
            while ((n = await reader.ReadAsync(buffer)) > 0) returned += n;
        });
        Assert.True(returned <= Data.Length);
        return (error, returned);
    }

    public (List<FrameEntry> Frames, IndexEnd End) ReadIndex()
    {
        using var reader = new FrameIndex.Reader(File.OpenRead(PathOf("index")));
        var frames = new List<FrameEntry>();
        while (true)
        {
            var (frame, end) = reader.ReadNextAsync(CancellationToken.None).GetAwaiter().GetResult();
            if (end is { } e) return (frames, e);
            frames.Add(frame!.Value);
        }
    }

    /// <summary>Rewrites the index and updates the summary as an attacker who controls unauthenticated hashes would.</summary>
    public void WriteIndex(IReadOnlyList<FrameEntry> frames, IndexEnd end)
    {
        using var output = new MemoryStream();
        output.Write(FrameIndex.Magic);
        var record = new byte[FrameIndex.FrameRecordSize];
        foreach (var frame in frames)
        {
            FrameIndex.WriteFrame(frame, record);
            output.Write(record);
        }
        var endRecord = new byte[FrameIndex.EndRecordSize];
        FrameIndex.WriteEnd(end, endRecord);
        output.Write(endRecord);
        File.WriteAllBytes(PathOf("index"), output.ToArray());
        Summary = With(Summary, indexSha256: Hex(SHA256.HashData(output.ToArray())));
    }

    /// <summary>Updates the recorded size and hash of every volume from the files as they now are.</summary>
    public void RehashVolumes()
    {
        var volumes = Summary.Volumes.Select(v =>
        {
            var bytes = File.ReadAllBytes(PathOf(v.Name));
            return new VolumeInfo(v.Name, bytes.Length, Hex(SHA256.HashData(bytes)));
        }).ToList();
        Summary = With(Summary, volumes: volumes);
    }

    public static string Hex(byte[] hash) => Convert.ToHexString(hash).ToLowerInvariant();

    public static DataSummary With(DataSummary s, string? indexSha256 = null, IReadOnlyList<VolumeInfo>? volumes = null, int? frameCount = null, long? size = null) => new()
    {
        FrameCount = frameCount ?? s.FrameCount,
        VolumeCount = (volumes ?? s.Volumes).Count,
        Size = size ?? s.Size,
        StoredSize = (volumes ?? s.Volumes).Sum(v => v.Size),
        PlaintextSha256 = s.PlaintextSha256,
        IndexObject = s.IndexObject,
        IndexSha256 = indexSha256 ?? s.IndexSha256,
        Volumes = volumes ?? s.Volumes,
        Chunker = s.Chunker,
        Compression = s.Compression,
        CompressionLevel = s.CompressionLevel,
        Encryption = s.Encryption,
    };

    public void Dispose() => _temp.Dispose();
}
