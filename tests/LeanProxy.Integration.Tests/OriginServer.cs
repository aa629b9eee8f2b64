using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// An origin for subrequests, as real origins and APIs are: no CORS headers, 405 for OPTIONS. It records every request
/// (method, path and query) and how many it had at once.
/// </summary>
internal sealed class OriginServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _serving;
    private int _open;
    private int _mostOpen;

    private OriginServer()
    {
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>"METHOD /path?query" of every request, in the order they came.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The most requests it was answering at once.</summary>
    public int MostOpen => Volatile.Read(ref _mostOpen);

    public static OriginServer Start() => new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var open = Interlocked.Increment(ref _open);
        for (var most = MostOpen; open > most && Interlocked.CompareExchange(ref _mostOpen, open, most) != most; most = MostOpen)
        {
        }

        try
        {
            Requests.Enqueue($"{request.HttpMethod} {request.RawUrl}");
            var query = System.Web.HttpUtility.ParseQueryString(request.Url!.Query);
            if (query["stallMs"] is { } stall)
            {
                await Task.Delay(int.Parse(stall, System.Globalization.CultureInfo.InvariantCulture)); // a slow origin: reads nothing for a while
            }

            using var body = new MemoryStream();
            await request.InputStream.CopyToAsync(body);
            switch (request.Url.AbsolutePath)
            {
                case "/echo" when request.HttpMethod != "OPTIONS":
                    var headers = new SortedDictionary<string, string>(StringComparer.Ordinal);
                    foreach (string name in request.Headers)
                    {
                        headers[name.ToLowerInvariant()] = request.Headers[name]!;
                    }

                    response.AppendHeader("Set-Cookie", "a=1; Path=/");
                    response.AppendHeader("Set-Cookie", "b=2; HttpOnly");
                    await WriteAsync(response, "application/json", JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
                    {
                        ["method"] = request.HttpMethod,
                        ["url"] = request.RawUrl!,
                        ["headers"] = headers,
                        ["body"] = Encoding.UTF8.GetString(body.ToArray()),
                        ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(body.ToArray())),
                        ["length"] = body.Length,
                    }));
                    break;
                case "/redirect":
                    response.StatusCode = 302;
                    response.RedirectLocation = query["to"];
                    response.Close();
                    break;
                case "/gzip":
                    using (var compressed = new MemoryStream())
                    {
                        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
                        {
                            await gzip.WriteAsync("hello gzip"u8.ToArray());
                        }

                        response.AddHeader("Content-Encoding", "gzip");
                        await WriteAsync(response, "text/plain", compressed.ToArray());
                    }

                    break;
                case "/bytes":
                    await WriteAsync(response, "application/octet-stream", Pattern(int.Parse(query["n"] ?? "0", System.Globalization.CultureInfo.InvariantCulture)));
                    break;
                case "/slow":
                    await Task.Delay(int.Parse(query["ms"] ?? "0", System.Globalization.CultureInfo.InvariantCulture));
                    await WriteAsync(response, "text/plain", Encoding.ASCII.GetBytes("slow " + query["i"]));
                    break;
                default:
                    response.StatusCode = request.HttpMethod == "OPTIONS" ? 405 : 404;
                    response.Close();
                    break;
            }
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away (an aborted subrequest).
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>The bytes /bytes?n= answers: i % 251, so that a shift or a repeat shows.</summary>
    public static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i % 251);
        }

        return bytes;
    }

    private static async Task WriteAsync(HttpListenerResponse response, string type, byte[] bytes)
    {
        response.ContentType = type;
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
        response.Close();
    }
}
