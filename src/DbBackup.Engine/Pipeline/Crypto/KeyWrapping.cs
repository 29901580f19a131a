using System.Security.Cryptography;
using System.Text;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Pipeline.Crypto;

/// <summary>
/// Wraps and unwraps a 32-byte key with AES-256-GCM under key-encryption keys (KEKs): PBKDF2-SHA256 of a
/// passphrase (600,000 iterations, 16-byte salt, stored) or HKDF-SHA256 of a 32-byte key file.
/// The associated data names the purpose ("data" or "repository") and the kind, so a wrapped key cannot be
/// moved from one role to another.
/// </summary>
internal static class KeyWrapping
{
    public const string Algorithm = "AES-256-GCM";
    public const string PassphraseKind = "passphrase";
    public const string KeyFileKind = "keyfile";
    public const string Pbkdf2 = "pbkdf2-sha256";
    public const int DefaultIterations = 600_000;
    public const int KeySize = 32;
    private const int MaxIterations = 50_000_000;

    /// <param name="iterations">PBKDF2 iterations: always <see cref="DefaultIterations"/> outside tests.</param>
    public static EncryptionHeader Wrap(ReadOnlySpan<byte> key, EncryptionOptions options, string purpose, int iterations = DefaultIterations)
    {
        if (!options.IsEnabled)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, "Encryption needs a passphrase or a key file.", "Pass -Passphrase or -KeyFile.");
        var wrapped = new List<WrappedKey>();
        if (options.Passphrase is { } passphrase)
        {
            if (passphrase.IsEmpty)
                throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, "The passphrase is empty.", "Use a long passphrase (several words).");
            var salt = RandomNumberGenerator.GetBytes(16);
            using var kek = new PinnedKey(DerivePassphraseKek(passphrase, salt, iterations));
            wrapped.Add(Seal(key, kek.Bytes, purpose, PassphraseKind, Pbkdf2, iterations, Convert.ToBase64String(salt), null));
        }
        if (options.KeyFile is { } path)
        {
            using var fileKey = new PinnedKey(ReadKeyFile(path));
            using var kek = new PinnedKey(DeriveKeyFileKek(fileKey.Bytes));
            wrapped.Add(Seal(key, kek.Bytes, purpose, KeyFileKind, null, null, null, Fingerprint(fileKey.Bytes)));
        }
        return new EncryptionHeader { Algorithm = Algorithm, Keys = wrapped };
    }

    public static byte[] Unwrap(EncryptionHeader header, EncryptionOptions? options, string purpose, string what)
    {
        if (!string.Equals(header.Algorithm, Algorithm, StringComparison.Ordinal))
            throw new BackupIntegrityException(ErrorIds.BackupCorrupted, $"{what} uses the unknown encryption algorithm '{header.Algorithm}'.", "Use a DbBackup version that supports it.");
        if (options is null || !options.IsEnabled)
            throw new BackupIntegrityException(ErrorIds.KeyRequired, $"{what} is encrypted and no key was given.", Offer(header));

        var tried = 0;
        if (options.KeyFile is { } path)
        {
            using var fileKey = new PinnedKey(ReadKeyFile(path));
            var fingerprint = Fingerprint(fileKey.Bytes);
            using var kek = new PinnedKey(DeriveKeyFileKek(fileKey.Bytes));
            foreach (var entry in header.Keys.Where(k => k.Kind == KeyFileKind && (k.KeyFingerprint is null || k.KeyFingerprint == fingerprint)))
            {
                tried++;
                if (TryOpen(entry, kek.Bytes, purpose) is { } key) return key;
            }
        }
        if (options.Passphrase is { } passphrase)
        {
            foreach (var entry in header.Keys.Where(k => k.Kind == PassphraseKind))
            {
                if (entry.Kdf != Pbkdf2 || entry.Iterations is not (>= 1 and <= MaxIterations) || entry.Salt is null)
                    throw new BackupIntegrityException(ErrorIds.BackupCorrupted, $"{what} stores unsupported key-derivation parameters ({entry.Kdf}, {entry.Iterations} iterations).", "Use a DbBackup version that supports them.");
                tried++;
                using var kek = new PinnedKey(DerivePassphraseKek(passphrase, FromBase64(entry.Salt, what), entry.Iterations.Value));
                if (TryOpen(entry, kek.Bytes, purpose) is { } key) return key;
            }
        }

        var given = new List<string>();
        if (options.KeyFile is not null) given.Add("key file");
        if (options.Passphrase is not null) given.Add("passphrase");
        var kinds = string.Join(" and ", given);
        var hasKeyFileEntry = header.Keys.Any(k => k.Kind == KeyFileKind);
        var hasPassphraseEntry = header.Keys.Any(k => k.Kind == PassphraseKind);
        var offeredKindExists = (options.KeyFile is not null && hasKeyFileEntry) || (options.Passphrase is not null && hasPassphraseEntry);
        if (!offeredKindExists)
            throw new BackupIntegrityException(ErrorIds.KeyRequired, $"{what} is not encrypted for a {kinds}.", Offer(header));
        throw new BackupIntegrityException(ErrorIds.WrongKey,
            tried == 0 ? $"The key file does not match any key file {what} is encrypted for." : $"The {kinds} given does not open {what}.",
            "Check the passphrase or key file (" + Offer(header) + ")");
    }

    /// <summary>Reads a key file: exactly 32 bytes.</summary>
    public static byte[] ReadKeyFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, $"The key file '{path}' does not exist.", "Check the -KeyFile path.") { Target = path };
        if (info.Length != KeySize)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                $"The key file '{path}' holds {info.Length} bytes; a key file must hold exactly {KeySize} random bytes.",
                $"Create one with 'head -c {KeySize} /dev/urandom > key.bin && chmod 600 key.bin' (keep a copy: without it the backups cannot be read).") { Target = path };
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != KeySize)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, $"The key file '{path}' changed while it was read.", "Try again.") { Target = path };
        return bytes;
    }

    public static string Fingerprint(ReadOnlySpan<byte> fileKey) =>
        Convert.ToHexString(HMACSHA256.HashData(fileKey, "dbbackup-keyfile-fingerprint-v1"u8)[..8]).ToLowerInvariant();

    private static byte[] DerivePassphraseKek(SecretValue passphrase, byte[] salt, int iterations)
    {
        var bytes = Encoding.UTF8.GetBytes(passphrase.Reveal());
        try
        {
            return Rfc2898DeriveBytes.Pbkdf2(bytes, salt, iterations, HashAlgorithmName.SHA256, KeySize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private static byte[] DeriveKeyFileKek(byte[] fileKey) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, fileKey, KeySize, salt: [], info: "dbbackup-keyfile-kek-v1"u8.ToArray());

    private static WrappedKey Seal(ReadOnlySpan<byte> key, byte[] kek, string purpose, string kind, string? kdf, int? iterations, string? salt, string? fingerprint)
    {
        var nonce = RandomNumberGenerator.GetBytes(12);
        var output = new byte[key.Length + 16];
        using var aes = new AesGcm(kek, 16);
        aes.Encrypt(nonce, key, output.AsSpan(0, key.Length), output.AsSpan(key.Length), Aad(purpose, kind));
        return new WrappedKey
        {
            Kind = kind, Kdf = kdf, Iterations = iterations, Salt = salt, KeyFingerprint = fingerprint,
            Nonce = Convert.ToBase64String(nonce), Ciphertext = Convert.ToBase64String(output),
        };
    }

    private static byte[]? TryOpen(WrappedKey entry, byte[] kek, string purpose)
    {
        var nonce = FromBase64(entry.Nonce, "a wrapped key");
        var sealedKey = FromBase64(entry.Ciphertext, "a wrapped key");
        if (nonce.Length != 12 || sealedKey.Length != KeySize + 16) return null;
        var key = new byte[KeySize];
        using var aes = new AesGcm(kek, 16);
        try
        {
            aes.Decrypt(nonce, sealedKey.AsSpan(0, KeySize), sealedKey.AsSpan(KeySize), key, Aad(purpose, entry.Kind));
            return key;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null; // not this key: the caller tries the next copy, then reports WrongKey
        }
    }

    private static byte[] Aad(string purpose, string kind) => Encoding.UTF8.GetBytes($"dbbackup-keywrap-v1\0{purpose}\0{kind}");

    private static byte[] FromBase64(string text, string what)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException e)
        {
            throw new BackupIntegrityException(ErrorIds.BackupCorrupted, $"The encryption header of {what} is damaged (bad base64).", "Restore the manifest from a copy of the repository.", e);
        }
    }

    private static string Offer(EncryptionHeader header)
    {
        var parts = header.Keys.Select(k => k.Kind == KeyFileKind ? $"a key file (fingerprint {k.KeyFingerprint})" : "a passphrase").Distinct();
        return "It opens with " + string.Join(" or ", parts) + ": pass -Passphrase or -KeyFile.";
    }

    /// <summary>Zeroes key material when done.</summary>
    private readonly struct PinnedKey(byte[] bytes) : IDisposable
    {
        public byte[] Bytes { get; } = bytes;
        public void Dispose() => CryptographicOperations.ZeroMemory(Bytes);
    }
}
