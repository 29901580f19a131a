namespace DbBackup.Engine;

/// <summary>
/// A password or passphrase. <see cref="ToString"/> never reveals it, so it cannot leak into logs,
/// exceptions or progress output by accident; only connectors and key derivation call <see cref="Reveal"/>.
/// </summary>
public sealed class SecretValue
{
    private readonly string _value;

    public SecretValue(string value) => _value = value ?? throw new ArgumentNullException(nameof(value));

    public bool IsEmpty => _value.Length == 0;

    public string Reveal() => _value;

    public override string ToString() => "***";
}
