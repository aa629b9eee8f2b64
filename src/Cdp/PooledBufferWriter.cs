using System.Buffers;
using System.Collections.Concurrent;

namespace LeanProxy.Cdp;

/// <summary>An <see cref="IBufferWriter{T}"/> over arrays from the shared pool; instances are recycled too.</summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>
{
    private const int MaxCached = 32;
    private const int MaxRetainedBytes = 1024 * 1024;
    private static readonly ConcurrentQueue<PooledBufferWriter> s_cache = new();

    private byte[] _buffer;
    private int _written;

    private PooledBufferWriter(int initialCapacity)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);
    }

    public int WrittenCount => _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>
    /// A writer that takes nothing: what a cached <see cref="System.Text.Json.Utf8JsonWriter"/> is reset to so that it
    /// does not keep a returned buffer. (<c>Reset(Stream.Null)</c> would allocate a buffer writer on every reset.)
    /// </summary>
    public static IBufferWriter<byte> Nowhere { get; } = new NowhereWriter();

    public static PooledBufferWriter Rent() => s_cache.TryDequeue(out var writer) ? writer : new PooledBufferWriter(4096);

    public static void Return(PooledBufferWriter writer)
    {
        writer._written = 0;
        if (writer._buffer.Length > MaxRetainedBytes)
        {
            ArrayPool<byte>.Shared.Return(writer._buffer);
            writer._buffer = ArrayPool<byte>.Shared.Rent(4096);
        }

        if (s_cache.Count < MaxCached)
        {
            s_cache.Enqueue(writer);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(writer._buffer);
            writer._buffer = [];
        }
    }

    public void Clear() => _written = 0;

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 256);
        if (_buffer.Length - _written >= sizeHint)
        {
            return;
        }

        var next = ArrayPool<byte>.Shared.Rent(Math.Max(_written + sizeHint, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(next);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = next;
    }

    private sealed class NowhereWriter : IBufferWriter<byte>
    {
        public void Advance(int count) => throw new InvalidOperationException("This JSON writer is detached from its buffer.");

        public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException("This JSON writer is detached from its buffer.");

        public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException("This JSON writer is detached from its buffer.");
    }
}
