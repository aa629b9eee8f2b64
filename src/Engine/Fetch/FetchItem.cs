using System.Text.Json;

namespace LeanProxy.Engine.Fetch;

/// <summary>
/// A subrequest's answer on its way to the page, in the tab's next batch: its head, a piece of its body, its end or its
/// failure (<see cref="HostMessageKind.FetchHead"/> … <see cref="HostMessageKind.FetchError"/>). Each is safe to repeat
/// after a stopped batch: the page skips a head or a piece it has (a piece says where it starts).
/// </summary>
internal abstract class FetchItem(int fetchId) : TabItem(fetchId)
{
    public override bool IsRepeatable => true;

    public sealed class Head(int fetchId, int status, string statusText, IReadOnlyList<KeyValuePair<string, string>> headers, string url,
        bool redirected) : FetchItem(fetchId)
    {
        public override int PayloadLength => 64 + headers.Sum(h => h.Key.Length + h.Value.Length) + url.Length;

        public override void Write(Utf8JsonWriter writer) =>
            HostMessageWriter.WriteFetchHead(writer, Id, status, statusText, headers, url, redirected);
    }

    public sealed class Chunk(int fetchId, long offset, byte[] data, int length) : FetchItem(fetchId)
    {
        public override int PayloadLength => length;

        public override void Write(Utf8JsonWriter writer) => HostMessageWriter.WriteFetchChunk(writer, Id, offset, data.AsSpan(0, length));
    }

    /// <summary>A whole answer (a body that was complete when its head came): head, body and end in one item, so that
    /// they go in one batch.</summary>
    public sealed class Whole(Head head, byte[] body, int length) : FetchItem(head.Id)
    {
        public override int PayloadLength => head.PayloadLength + length;

        public override void Write(Utf8JsonWriter writer)
        {
            head.Write(writer);
            if (length > 0)
            {
                HostMessageWriter.WriteFetchChunk(writer, Id, 0, body.AsSpan(0, length));
            }

            HostMessageWriter.WriteCount(writer, HostMessageKind.FetchEnd, Id, length);
        }
    }

    public sealed class End(int fetchId, long total) : FetchItem(fetchId)
    {
        public override int PayloadLength => 0;

        public override void Write(Utf8JsonWriter writer) => HostMessageWriter.WriteCount(writer, HostMessageKind.FetchEnd, Id, total);
    }

    public sealed class Credit(int fetchId, long taken) : FetchItem(fetchId)
    {
        public override int PayloadLength => 0;

        public override void Write(Utf8JsonWriter writer) => HostMessageWriter.WriteCount(writer, HostMessageKind.FetchCredit, Id, taken);
    }

    public sealed class Failure(int fetchId, string kind, string message) : FetchItem(fetchId)
    {
        public override int PayloadLength => message.Length;

        public override void Write(Utf8JsonWriter writer) => HostMessageWriter.WriteFetchError(writer, Id, kind, message);
    }
}
