using System.Buffers;
using System.Collections.Concurrent;
using LeanProxy.Buffers;

namespace LeanProxy.Cdp;

/// <summary>A cache of <see cref="PooledBuffer"/>s for commands: renting and returning one allocates nothing.</summary>
public static class PooledBufferWriter
{
    private const int MaxCached = 32;
    private const int MaxRetainedBytes = 1024 * 1024;
    private static readonly ConcurrentQueue<PooledBuffer> s_cache = new();

    /// <summary>
    /// A writer that takes nothing: what a cached <see cref="System.Text.Json.Utf8JsonWriter"/> is reset to so that it
    /// does not keep a returned buffer. (<c>Reset(Stream.Null)</c> would allocate a buffer writer on every reset.)
    /// </summary>
    public static IBufferWriter<byte> Nowhere { get; } = new NowhereWriter();

    public static PooledBuffer Rent() => s_cache.TryDequeue(out var buffer) ? buffer : new PooledBuffer(4096);

    public static void Return(PooledBuffer buffer)
    {
        buffer.Reset(MaxRetainedBytes);
        if (s_cache.Count < MaxCached)
        {
            s_cache.Enqueue(buffer);
        }
        else
        {
            buffer.Dispose();
        }
    }

    private sealed class NowhereWriter : IBufferWriter<byte>
    {
        public void Advance(int count) => throw new InvalidOperationException("This JSON writer is detached from its buffer.");

        public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException("This JSON writer is detached from its buffer.");

        public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException("This JSON writer is detached from its buffer.");
    }
}
