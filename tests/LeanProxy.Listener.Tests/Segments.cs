using System.Buffers;

namespace LeanProxy.Listener.Tests;

/// <summary>Builds multi-segment sequences, as a pipe delivers bytes that arrived in several reads.</summary>
internal static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] bytes, int at)
    {
        var first = new Segment(bytes.AsMemory(0, at), 0);
        var second = first.Append(bytes.AsMemory(at));
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    /// <summary>The bytes cut at each of <paramref name="cuts"/> (in any order; repeats and the ends are ignored).</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, IEnumerable<int> cuts)
    {
        var points = cuts.Where(c => c > 0 && c < bytes.Length).Append(0).Append(bytes.Length).Distinct().Order().ToArray();
        if (points.Length < 2)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(bytes.AsMemory(0, points[1]), 0);
        var last = first;
        for (var i = 1; i + 1 < points.Length; i++)
        {
            last = last.Append(bytes.AsMemory(points[i], points[i + 1] - points[i]));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
