using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Pipeline.Crypto;

/// <summary>
/// Key material of one encrypted backup: a random per-backup data key (frames, manifest MAC) and the
/// repository-wide chunk-id key (so chunk ids leak nothing yet deduplicate across backups).
/// Frame key and manifest-MAC key are derived from the data key with HKDF-SHA256 (docs/format.md).
/// </summary>
public sealed class BackupKeys
{
    internal const string DataPurpose = "data";
    internal const string RepositoryPurpose = "repository";
    internal const int TagSize = 16;
    private const int MaxBackupIdBytes = 1024;

    private readonly byte[] _frameKey;
    private readonly byte[] _manifestMacKey;
    private readonly byte[] _chunkIdKey;
    private readonly byte[] _dataKey;

    private BackupKeys(byte[] dataKey, byte[] chunkIdKey, EncryptionHeader header)
    {
        if (chunkIdKey is null || chunkIdKey.Length < 16)
            throw new ArgumentException("The repository chunk-id key must hold at least 16 bytes.", nameof(chunkIdKey));
        _dataKey = dataKey;
        _chunkIdKey = (byte[])chunkIdKey.Clone();
        _frameKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, dataKey, 32, salt: [], info: "dbbackup-frame-key-v1"u8.ToArray());
        _manifestMacKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, dataKey, 32, salt: [], info: "dbbackup-manifest-mac-v1"u8.ToArray());
        Header = header;
    }

    /// <summary>The wrapped data key as stored in the manifest.</summary>
    public EncryptionHeader Header { get; }

    /// <summary>A new random data key wrapped under every key in <paramref name="options"/>.</summary>
    public static BackupKeys Create(EncryptionOptions options, byte[] chunkIdKey) => Create(options, chunkIdKey, KeyWrapping.DefaultIterations);

    /// <summary>Tests pass fewer PBKDF2 iterations to stay fast; the stored header records the count.</summary>
    internal static BackupKeys Create(EncryptionOptions options, byte[] chunkIdKey, int iterations)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dataKey = RandomNumberGenerator.GetBytes(KeyWrapping.KeySize);
        return new BackupKeys(dataKey, chunkIdKey, KeyWrapping.Wrap(dataKey, options, DataPurpose, iterations));
    }

    /// <summary>Unwraps the data key; throws BackupIntegrityException WrongKey / KeyRequired.</summary>
    public static BackupKeys Open(EncryptionHeader header, EncryptionOptions? options, byte[] chunkIdKey)
    {
        ArgumentNullException.ThrowIfNull(header);
        var dataKey = KeyWrapping.Unwrap(header, options, DataPurpose, "this backup");
        return new BackupKeys(dataKey, chunkIdKey, header);
    }

    /// <summary>
    /// Key rotation without re-encryption: a header holding the same data key wrapped under <paramref name="options"/>
    /// (plus the existing copies when <paramref name="keepExisting"/>). The repository stores it in the manifest.
    /// </summary>
    public EncryptionHeader Rewrap(EncryptionOptions options, bool keepExisting)
    {
        var added = KeyWrapping.Wrap(_dataKey, options, DataPurpose);
        return new EncryptionHeader { Algorithm = Header.Algorithm, Keys = keepExisting ? [.. Header.Keys, .. added.Keys] : added.Keys };
    }

    /// <summary>HMAC-SHA256 over the canonical manifest bytes under a key derived from the data key.</summary>
    public byte[] ComputeManifestMac(ReadOnlySpan<byte> manifestBytes) => HMACSHA256.HashData(_manifestMacKey, manifestBytes);

    /// <summary>Constant-time check of a manifest MAC.</summary>
    public bool VerifyManifestMac(ReadOnlySpan<byte> manifestBytes, ReadOnlySpan<byte> mac) =>
        CryptographicOperations.FixedTimeEquals(ComputeManifestMac(manifestBytes), mac);

    /// <summary>Wraps a new random repository chunk-id key; stored in the repository's key file.</summary>
    public static (byte[] Key, EncryptionHeader Header) CreateRepositoryKey(EncryptionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var key = RandomNumberGenerator.GetBytes(KeyWrapping.KeySize);
        return (key, KeyWrapping.Wrap(key, options, RepositoryPurpose));
    }

    /// <summary>Unwraps the repository chunk-id key; throws WrongKey / KeyRequired.</summary>
    public static byte[] OpenRepositoryKey(EncryptionHeader header, EncryptionOptions? options)
    {
        ArgumentNullException.ThrowIfNull(header);
        return KeyWrapping.Unwrap(header, options, RepositoryPurpose, "the repository key");
    }

    /// <summary>Wraps an existing repository chunk-id key under other keys (rotation).</summary>
    public static EncryptionHeader RewrapRepositoryKey(byte[] key, EncryptionOptions options) => KeyWrapping.Wrap(key, options, RepositoryPurpose);

    /// <summary>Chunk id of an encrypted backup: HMAC-SHA256 of the plaintext under the repository chunk-id key.</summary>
    internal void ComputeChunkId(ReadOnlySpan<byte> plain, Span<byte> destination) => HMACSHA256.HashData(_chunkIdKey, plain, destination);

    /// <summary>Creates the frame cipher; one per thread (AesGcm instances are not shared).</summary>
    internal FrameCipher CreateFrameCipher(string backupId) => new(_frameKey, backupId);

    internal sealed class FrameCipher : IDisposable
    {
        private readonly AesGcm _aes;
        private readonly byte[] _backupId;

        public FrameCipher(byte[] frameKey, string backupId)
        {
            _aes = new AesGcm(frameKey, TagSize);
            _backupId = Encoding.UTF8.GetBytes(backupId);
            if (_backupId.Length > MaxBackupIdBytes) throw new ArgumentException("The backup id is too long.", nameof(backupId));
        }

        /// <summary>Encrypts <paramref name="data"/> in place and writes the tag.</summary>
        public void Seal(long frameIndex, bool final, int plainLength, Span<byte> data, Span<byte> tag)
        {
            Span<byte> nonce = stackalloc byte[12];
            Nonce(frameIndex, nonce);
            Span<byte> aad = stackalloc byte[AadLength];
            _aes.Encrypt(nonce, data, data, tag, Aad(frameIndex, final, plainLength, aad));
        }

        /// <summary>Decrypts in place; false when the frame, its position, flag or length were altered.</summary>
        public bool TryOpen(long frameIndex, bool final, int plainLength, Span<byte> data, ReadOnlySpan<byte> tag)
        {
            Span<byte> nonce = stackalloc byte[12];
            Nonce(frameIndex, nonce);
            Span<byte> aad = stackalloc byte[AadLength];
            try
            {
                _aes.Decrypt(nonce, data, tag, data, Aad(frameIndex, final, plainLength, aad));
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                return false; // the caller reports BackupTampered naming the frame
            }
        }

        public void Dispose() => _aes.Dispose();

        private int AadLength => 18 + 2 + _backupId.Length + 8 + 1 + 8;

        // "dbbackup-frame-v1\0" | u16 len | backup id | u64 frame index | u8 final | u64 plain length (big-endian).
        private ReadOnlySpan<byte> Aad(long frameIndex, bool final, int plainLength, Span<byte> aad)
        {
            "dbbackup-frame-v1\0"u8.CopyTo(aad);
            var at = 18;
            BinaryPrimitives.WriteUInt16BigEndian(aad[at..], (ushort)_backupId.Length);
            at += 2;
            _backupId.CopyTo(aad[at..]);
            at += _backupId.Length;
            BinaryPrimitives.WriteInt64BigEndian(aad[at..], frameIndex);
            at += 8;
            aad[at++] = final ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteInt64BigEndian(aad[at..], plainLength);
            return aad[..(at + 8)];
        }

        // A counter nonce is safe: the frame key is derived from a random data key used by this backup only.
        private static void Nonce(long frameIndex, Span<byte> nonce)
        {
            "dbf1"u8.CopyTo(nonce);
            BinaryPrimitives.WriteInt64BigEndian(nonce[4..], frameIndex);
        }
    }
}
