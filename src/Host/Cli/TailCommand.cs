using System.Net;
using System.Text;
using System.Text.Json;
using LeanProxy.Host.Admin;
using LeanProxy.Host.Ops;

namespace LeanProxy.Host.Cli;

/// <summary><c>leanproxy tail NAME</c>: reads <c>GET /v1/apps/NAME/logs</c> (server-sent events) and prints each line as it comes.</summary>
internal static class TailCommand
{
    public static async Task<int> RunAsync(TailOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken, Func<string,
        string?>? environment = null)
    {
        var json = options.Format switch
        {
            null or "text" => false,
            "json" => true,
            _ => throw new UsageException($"--format {options.Format}: expected text or json."),
        };

        using var client = AdminCommands.Client(options, environment);
        client.Timeout = Timeout.InfiniteTimeSpan;
        HttpResponseMessage response;
        try
        {
            response = await client.GetAsync($"v1/apps/{Uri.EscapeDataString(options.Name)}/logs", HttpCompletionOption.ResponseHeadersRead,
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
        catch (HttpRequestException ex)
        {
            await stderr.WriteLineAsync($"error: cannot reach the admin API at {client.BaseAddress}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        using (response)
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                string message;
                try
                {
                    message = JsonSerializer.Deserialize(body, AdminJsonContext.Default.ApiError)?.Message ?? body;
                }
                catch (JsonException)
                {
                    message = body.Trim();
                }

                await stderr.WriteLineAsync($"error: {(int)response.StatusCode} {response.StatusCode}: {message}").ConfigureAwait(false);
                return 1;
            }

            try
            {
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), Encoding.UTF8);
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                {
                    if (!line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        continue; // comments (keep-alives) and blank separators
                    }

                    var data = line["data: ".Length..];
                    if (json)
                    {
                        await stdout.WriteLineAsync(data).ConfigureAwait(false);
                    }
                    else if (TailFormat.Parse(data) is { } parsed)
                    {
                        await stdout.WriteLineAsync(TailFormat.Text(parsed)).ConfigureAwait(false);
                    }

                    await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
            catch (IOException ex)
            {
                await stderr.WriteLineAsync($"error: the stream broke: {ex.Message}").ConfigureAwait(false);
                return 1;
            }
        }

        await stderr.WriteLineAsync("error: the node ended the stream (it stopped?)").ConfigureAwait(false);
        return 1;
    }
}
