using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline.Codecs;

namespace DbBackup.Engine.Pipeline;

/// <summary>
/// zstd through the system libzstd (P/Invoke, loaded with <see cref="NativeLibrary.TryLoad(string, out IntPtr)"/>).
/// Each frame is one complete standard zstd frame (with its content size), so <c>cat data.* | zstd -d</c>
/// decodes a backup. Default level 1 (libzstd's own default is 3; level 1 keeps the backup near the
/// speed of <c>pg_dump | zstd -1</c>); levels -7..22 are accepted.
/// </summary>
public sealed class ZstdCodec : IFrameCodec
{
    public const int DefaultLevel = 1;
    public const int MinLevel = -7;
    public const int MaxLevel = 22;

    private static readonly Lazy<ZstdLibrary?> Library = new(ZstdLibrary.TryLoad);
    private readonly ZstdLibrary _lib;
    private readonly ConcurrentBag<ZstdContext> _compressContexts = [];
    private readonly ConcurrentBag<ZstdContext> _decompressContexts = [];

    private ZstdCodec(ZstdLibrary lib, int level)
    {
        _lib = lib;
        Level = level;
    }

    /// <summary>True where the system libzstd loads; hosts pick zstd as the default compression then, gzip otherwise.</summary>
    public static bool IsAvailable => Library.Value is not null;

    /// <summary>The loaded libzstd version (e.g. "1.5.4"), or null when it does not load.</summary>
    public static string? LibraryVersion => Library.Value?.Version;

    internal static ZstdCodec Create(int? level)
    {
        var value = level ?? DefaultLevel;
        if (value is < MinLevel or > MaxLevel or 0)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, $"Zstd compression level {value} is out of range.",
                $"Use a zstd level from {MinLevel} to -1 or 1 to {MaxLevel} ({DefaultLevel} is the fast default).");
        var lib = Library.Value ?? throw new DbBackupException(ErrorIds.CodecUnavailable, ErrorKind.NotInstalled,
            "The zstd library (libzstd.so.1) could not be loaded, so zstd-compressed data cannot be written or read here.",
            "Install libzstd (Debian/Ubuntu: 'apt-get install libzstd1'; RHEL: 'dnf install libzstd'; macOS: 'brew install zstd') or set DBBACKUP_LIBZSTD to its full path; to write new backups without it, choose -Compression Gzip.");
        return new ZstdCodec(lib, value);
    }

    CompressionCodec IFrameCodec.Codec => CompressionCodec.Zstd;
    public int? Level { get; }

    PooledBuffer IFrameCodec.Compress(ReadOnlySpan<byte> plain, int tailRoom)
    {
        var bound = (int)_lib.CompressBound((nuint)plain.Length);
        var buffer = PooledBuffer.Rent(bound + tailRoom);
        if (!_compressContexts.TryTake(out var context)) context = _lib.CreateCompressContext();
        try
        {
            nuint written;
            unsafe
            {
                byte empty = 0;
                fixed (byte* src = plain)
                fixed (byte* dst = buffer.Array)
                {
                    written = _lib.CompressCCtx(context.Pointer, dst, (nuint)bound, src == null ? &empty : src, (nuint)plain.Length, Level!.Value);
                }
            }
            if (_lib.IsError(written))
            {
                buffer.Return();
                throw new DbBackupException(ErrorIds.CodecUnavailable, ErrorKind.InvalidOperation, $"zstd compression failed: {_lib.ErrorName(written)}.", "Report this as a bug with the libzstd version (" + _lib.Version + ").");
            }
            return buffer.WithLength((int)written);
        }
        finally
        {
            _compressContexts.Add(context);
        }
    }

    void IFrameCodec.Decompress(ReadOnlySpan<byte> frame, Span<byte> destination, string where)
    {
        if (!_decompressContexts.TryTake(out var context)) context = _lib.CreateDecompressContext();
        try
        {
            nuint result;
            unsafe
            {
                byte dummy = 0;
                fixed (byte* src = frame)
                fixed (byte* dst = destination)
                {
                    result = _lib.DecompressDCtx(context.Pointer, dst == null ? &dummy : dst, (nuint)destination.Length, src, (nuint)frame.Length);
                }
            }
            if (_lib.IsError(result)) throw FrameCodecs.Corrupted(where, "the zstd frame does not decode (" + _lib.ErrorName(result) + ")");
            if (result != (nuint)destination.Length)
                throw FrameCodecs.Corrupted(where, $"the zstd frame decodes to {result} bytes instead of {destination.Length}");
        }
        finally
        {
            _decompressContexts.Add(context);
        }
    }
}

/// <summary>A libzstd compression or decompression context, freed by its (critical) finalizer when the codec is collected.</summary>
internal sealed class ZstdContext : SafeHandle
{
    private readonly Action<IntPtr> _free;

    public ZstdContext(IntPtr pointer, Action<IntPtr> free) : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(pointer);
        _free = free;
    }

    public IntPtr Pointer => handle;
    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        _free(handle);
        return true;
    }
}

/// <summary>The few libzstd entry points we use, resolved once as function pointers.</summary>
internal sealed unsafe class ZstdLibrary
{
    private readonly delegate* unmanaged<nuint, nuint> _compressBound;
    private readonly delegate* unmanaged<nuint, uint> _isError;
    private readonly delegate* unmanaged<nuint, IntPtr> _getErrorName;
    private readonly delegate* unmanaged<IntPtr> _createCCtx;
    private readonly delegate* unmanaged<IntPtr, nuint> _freeCCtx;
    private readonly delegate* unmanaged<IntPtr, byte*, nuint, byte*, nuint, int, nuint> _compressCCtx;
    private readonly delegate* unmanaged<IntPtr> _createDCtx;
    private readonly delegate* unmanaged<IntPtr, nuint> _freeDCtx;
    private readonly delegate* unmanaged<IntPtr, byte*, nuint, byte*, nuint, nuint> _decompressDCtx;

    private ZstdLibrary(IntPtr handle)
    {
        _compressBound = (delegate* unmanaged<nuint, nuint>)NativeLibrary.GetExport(handle, "ZSTD_compressBound");
        _isError = (delegate* unmanaged<nuint, uint>)NativeLibrary.GetExport(handle, "ZSTD_isError");
        _getErrorName = (delegate* unmanaged<nuint, IntPtr>)NativeLibrary.GetExport(handle, "ZSTD_getErrorName");
        _createCCtx = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(handle, "ZSTD_createCCtx");
        _freeCCtx = (delegate* unmanaged<IntPtr, nuint>)NativeLibrary.GetExport(handle, "ZSTD_freeCCtx");
        _compressCCtx = (delegate* unmanaged<IntPtr, byte*, nuint, byte*, nuint, int, nuint>)NativeLibrary.GetExport(handle, "ZSTD_compressCCtx");
        _createDCtx = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(handle, "ZSTD_createDCtx");
        _freeDCtx = (delegate* unmanaged<IntPtr, nuint>)NativeLibrary.GetExport(handle, "ZSTD_freeDCtx");
        _decompressDCtx = (delegate* unmanaged<IntPtr, byte*, nuint, byte*, nuint, nuint>)NativeLibrary.GetExport(handle, "ZSTD_decompressDCtx");
        var versionNumber = ((delegate* unmanaged<uint>)NativeLibrary.GetExport(handle, "ZSTD_versionNumber"))();
        VersionNumber = versionNumber;
        Version = $"{versionNumber / 10000}.{versionNumber / 100 % 100}.{versionNumber % 100}";
    }

    public uint VersionNumber { get; }
    public string Version { get; }

    public static ZstdLibrary? TryLoad()
    {
        var configured = Environment.GetEnvironmentVariable("DBBACKUP_LIBZSTD");
        string[] names = string.IsNullOrWhiteSpace(configured)
            ? ["libzstd.so.1", "libzstd.so", "libzstd.1.dylib", "libzstd.dylib", "libzstd.dll", "zstd.dll"]
            : [configured];
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, typeof(ZstdLibrary).Assembly, null, out var handle)) continue;
            try
            {
                var lib = new ZstdLibrary(handle);
                // ZSTD_compressCCtx/decompressDCtx and content sizes in frame headers are stable since 1.3.
                if (lib.VersionNumber >= 10300) return lib;
            }
            catch (EntryPointNotFoundException)
            {
                // Not a usable libzstd (e.g. a stub); try the next name.
            }
        }
        return null;
    }

    public nuint CompressBound(nuint size) => _compressBound(size);
    public bool IsError(nuint code) => _isError(code) != 0;
    public string ErrorName(nuint code) => Marshal.PtrToStringAnsi(_getErrorName(code)) ?? "unknown error";

    public ZstdContext CreateCompressContext() =>
        _createCCtx() is var c && c != IntPtr.Zero ? new ZstdContext(c, p => _freeCCtx(p)) : throw new OutOfMemoryException("ZSTD_createCCtx failed.");
    public nuint CompressCCtx(IntPtr context, byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int level) => _compressCCtx(context, dst, dstCapacity, src, srcSize, level);

    public ZstdContext CreateDecompressContext() =>
        _createDCtx() is var d && d != IntPtr.Zero ? new ZstdContext(d, p => _freeDCtx(p)) : throw new OutOfMemoryException("ZSTD_createDCtx failed.");
    public nuint DecompressDCtx(IntPtr context, byte* dst, nuint dstCapacity, byte* src, nuint srcSize) => _decompressDCtx(context, dst, dstCapacity, src, srcSize);
}
