using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LeanProxy.Host.Bench;

/// <summary>
/// A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending the next GET as soon as the
/// previous response (Content-Length or chunked) is read. Records every latency; counts non-2xx and socket errors.
/// </summary>
/// With <paramref name="hosts"/>, the requests go to those Host names in turn (a node's apps, round-robin).
internal sealed class LoadGenerator(IPEndPoint target, string path, BenchProtocol protocol = BenchProtocol.Http, string message = "ping\n",
    IReadOnlyList<string>? hosts = null)
{
    private readonly byte[][] _requests = protocol == BenchProtocol.Http
        ? [.. (hosts
            ?? [target.ToString()]).Select(host => Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: leanproxy-bench\r\n\r\n"))]
        : [Encoding.UTF8.GetBytes(message)];

    private long _next;

    private byte[] NextRequest() => _requests.Length == 1 ? _requests[0] : _requests[(int)((ulong)Interlocked.Increment(ref _next) % (ulong)_requests.Length)];

    public long Completed;

    public long Errors;

    public async Task<List<double>> RunAsync(int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(duration);
        var workers = Enumerable.Range(0, connections).Select(_ => RunConnectionAsync(stop.Token)).ToArray();
        var latencies = await Task.WhenAll(workers).ConfigureAwait(false);
        return latencies.SelectMany(l => l).ToList();
    }

    private Task<List<double>> RunConnectionAsync(CancellationToken stop) => protocol switch
    {
        BenchProtocol.Udp => RunDatagramsAsync(stop),
        BenchProtocol.Tcp => RunStreamAsync(static async (socket, buffer, expected, token) =>
        {
            // A request-reply exchange: the echo answers with as many bytes as were sent.
            var received = 0;
            while (received < expected)
            {
                received += await ReceiveAsync(socket, buffer, 0, token, expected - received).ConfigureAwait(false);
            }

            return 200;
        }, stop),
        _ => RunStreamAsync(static (socket, buffer, _, token) => ReadResponseAsync(socket, buffer, token), stop),
    };

    private async Task<List<double>> RunDatagramsAsync(CancellationToken stop)
    {
        var latencies = new List<double>(4096);
        var buffer = new byte[65536];
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(target, stop).ConfigureAwait(false);
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await socket.SendAsync(NextRequest(), SocketFlags.None, stop).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                timeout.CancelAfter(TimeSpan.FromSeconds(1));
                await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Increment(ref Completed);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                // No reply within a second (dropped under overload) or an ICMP error: a failed exchange.
                Interlocked.Increment(ref Errors);
            }
        }

        return latencies;
    }

    private async Task<List<double>> RunStreamAsync(Func<Socket, byte[], int, CancellationToken, Task<int>> readReply, CancellationToken stop)
    {
        var latencies = new List<double>(4096);
        var buffer = new byte[64 * 1024];
        while (!stop.IsCancellationRequested)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(target, stop).ConfigureAwait(false);
                while (!stop.IsCancellationRequested)
                {
                    var started = Stopwatch.GetTimestamp();
                    var request = NextRequest();
                    await socket.SendAsync(request, SocketFlags.None, stop).ConfigureAwait(false);
                    var status = await readReply(socket, buffer, request.Length, stop).ConfigureAwait(false);
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    Interlocked.Increment(ref Completed);
                    if (status is < 200 or > 299)
                    {
                        Interlocked.Increment(ref Errors);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return latencies;
            }
            catch (Exception ex) when (ex is SocketException or IOException or FormatException)
            {
                Interlocked.Increment(ref Errors);
            }
        }

        return latencies;
    }

    /// <summary>Reads one whole HTTP response and returns its status code.</summary>
    internal static async Task<int> ReadResponseAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        int headEnd;
        while ((headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            filled += await ReceiveAsync(socket, buffer, filled, cancellationToken).ConfigureAwait(false);
        }

        var head = Encoding.ASCII.GetString(buffer, 0, headEnd);
        var status = int.Parse(head.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        var bodyStart = headEnd + 4;
        var lengthAt = head.IndexOf("\r\nContent-Length:", StringComparison.OrdinalIgnoreCase);
        if (lengthAt >= 0)
        {
            var end = head.IndexOf('\r', lengthAt + 2);
            var length = int.Parse(head.AsSpan(lengthAt + 17, (end < 0 ? head.Length : end) - lengthAt - 17).Trim(),
                System.Globalization.CultureInfo.InvariantCulture);
            var have = filled - bodyStart;
            while (have < length)
            {
                have += await ReceiveAsync(socket, buffer, 0, cancellationToken, Math.Min(buffer.Length, length - have)).ConfigureAwait(false);
            }

            return status;
        }

        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            // Read until the last chunk; enough for a benchmark of small responses.
            var tail = Encoding.ASCII.GetString(buffer, bodyStart, filled - bodyStart);
            while (!tail.EndsWith("0\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await ReceiveAsync(socket, buffer, 0, cancellationToken).ConfigureAwait(false);
                tail = (tail + Encoding.ASCII.GetString(buffer, 0, read))[^Math.Min(tail.Length + read, 16)..];
            }
        }

        return status;
    }

    private static async Task<int> ReceiveAsync(Socket socket, byte[] buffer, int offset, CancellationToken cancellationToken, int max = int.MaxValue)
    {
        var read = await socket.ReceiveAsync(buffer.AsMemory(offset, Math.Min(max, buffer.Length - offset)), SocketFlags.None,
            cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new IOException("The server closed the connection.");
        }

        return read;
    }

    /// <summary>The p-th percentile (0..100) of sorted values.</summary>
    public static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }
}

/// <summary>What <c>leanproxy bench</c> drives.</summary>
internal enum BenchProtocol
{
    Http,
    Tcp,
    Udp,
}
