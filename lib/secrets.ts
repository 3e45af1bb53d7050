/**
 * Secrets never leave waie in clear: storage account keys, SAS tokens, connection strings.
 * Everything printed or logged that may carry one goes through here.
 */

export const mask = "*******"

/** Journal/manifest field names whose values are credentials. */
const secretKeys = /^(StorageAccountKey|ContainerSas|Sas|AccountKey|ConnectionString|BitLockerKey|ExistingBitLockerKey)$/i

export const isSecretField = (name: string): boolean => secretKeys.test(name)

/** The value to show for a field: masked when the field holds a credential. */
export const shownValue = (name: string, value: string): string => (isSecretField(name) && value !== "" ? mask : value)

/** Mask `<BitLockerKey>…</BitLockerKey>` style elements inside an XML value kept in a journal. */
export const maskSecretElements = (xml: string): string =>
  xml.replace(/<(StorageAccountKey|ContainerSas|BitLockerKey)>([^<]*)<\/\1>/g, (_m, name: string, v: string) => `<${name}>${v === "" ? "" : mask}</${name}>`)

/** Remove SAS signatures and account keys from any text (URLs, connection strings, messages). */
export const redact = (text: string): string =>
  text
    .replace(/([?&](sig|se|sv|sp|sr|st|spr|skoid|sktid|skt|ske|sks|skv)=)[^&\s"']*/gi, (_m, k: string) => `${k}${mask}`)
    .replace(/(AccountKey=)[^;\s"']*/gi, `$1${mask}`)
    .replace(/(SharedAccessSignature=)[^;\s"']*/gi, `$1${mask}`)
